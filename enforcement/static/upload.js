// Evidence upload: several files at once, a progress bar each, resumable after a dropped connection.
// Protocol (see enforcement/views/records.py): POST begin -> PUT bytes from offset -> 201 record.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var list = document.getElementById("upload-list");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var typeSelect = document.getElementById("type_code");
  var stageSelect = document.getElementById("stage");
  var avFields = document.getElementById("av-fields");
  var transcriptField = document.getElementById("transcript-field");
  var msg = form.dataset;
  var running = 0;
  var keepalive = null;

  function kind() {
    var option = typeSelect.options[typeSelect.selectedIndex];
    return option ? option.dataset.kind || "" : "";
  }
  function showAvFields() {
    var k = kind();
    var av = k === "video" || k === "audio";
    avFields.hidden = !av;
    ["av_method", "av_maker", "av_proves"].forEach(function (id) { document.getElementById(id).required = av; });
    transcriptField.hidden = k !== "audio";
    document.getElementById("transcript").required = k === "audio";
  }
  typeSelect.addEventListener("change", showAvFields);
  showAvFields();

  function fields() {
    var data = {};
    ["type_code", "stage", "description", "captured_at", "place", "device", "av_method", "av_maker",
     "av_proves", "transcript", "supersedes_id", "supersede_reason"].forEach(function (name) {
      var el = form.elements[name];
      if (el && !(el.closest && el.closest("[hidden]")) && el.value !== "") { data[name] = el.value; }
    });
    return data;
  }

  function request(method, url, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      if (body instanceof Blob) {
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
      } else if (body !== null) {
        xhr.setRequestHeader("Content-Type", "application/json");
        body = JSON.stringify(body);
      }
      if (onProgress) { xhr.upload.onprogress = onProgress; }
      xhr.onload = function () {
        var data = {};
        try { data = JSON.parse(xhr.responseText || "{}"); } catch (e) { data = {}; }
        resolve({status: xhr.status, data: data});
      };
      xhr.onerror = function () { reject(new Error("network")); };
      xhr.onabort = function () { reject(new Error("aborted")); };
      xhr.send(body);
      if (onProgress) { onProgress.xhr = xhr; }
    });
  }

  function row(file) {
    var li = document.createElement("li");
    var name = document.createElement("strong");
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = file.size || 1;
    bar.value = 0;
    var state = document.createElement("span");
    state.className = "state";
    state.textContent = msg.msgWaiting;
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button danger small";
    cancel.textContent = "×";
    cancel.setAttribute("aria-label", "cancel " + file.name);
    li.append(name, " ", cancel, bar, state);
    list.appendChild(li);
    return {li: li, bar: bar, state: state, cancel: cancel};
  }

  function setState(ui, text, cls) {
    ui.state.textContent = text;
    ui.state.className = "state " + (cls || "");
  }

  function startKeepalive() {
    running += 1;
    if (!keepalive) {
      keepalive = setInterval(function () { request("POST", msg.keepalive, {}).catch(function () {}); }, 60000);
    }
  }
  function stopKeepalive() {
    running -= 1;
    if (running <= 0 && keepalive) { clearInterval(keepalive); keepalive = null; }
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  async function upload(file, meta) {
    var ui = row(file);
    if (file.size === 0) { setState(ui, msg.msgEmpty, "bad"); ui.cancel.remove(); return; }
    if (file.size > Number(msg.limit)) { setState(ui, msg.msgTooLarge, "bad"); ui.cancel.remove(); return; }
    startKeepalive();
    var cancelled = false;
    var progress = null;
    var uploadUrl = null;
    ui.cancel.onclick = function () {
      cancelled = true;
      if (progress && progress.xhr) { progress.xhr.abort(); }
      if (uploadUrl) { request("DELETE", uploadUrl, null).catch(function () {}); }
      setState(ui, msg.msgCancelled, "bad");
    };
    try {
      var body = Object.assign({filename: file.name, size: file.size}, meta);
      var begun = await request("POST", msg.begin, body);
      if (begun.status !== 201) { setState(ui, begun.data.error || msg.msgFailed, "bad"); return; }
      uploadUrl = begun.data.url;
      if (cancelled) { request("DELETE", uploadUrl, null).catch(function () {}); return; }
      var offset = 0;
      var delay = 2;
      while (!cancelled) {
        setState(ui, msg.msgSending);
        progress = function (event) { ui.bar.value = offset + event.loaded; };
        var answer;
        try {
          answer = await request("PUT", uploadUrl + "?offset=" + offset, file.slice(offset), progress);
        } catch (e) {
          if (cancelled) { return; }
          answer = null;
        }
        if (answer && answer.status === 201) {
          ui.bar.value = file.size;
          var link = document.createElement("a");
          link.href = answer.data.url;
          link.textContent = msg.msgDone + " · SHA-256 " + answer.data.sha256.slice(0, 12) + "…";
          ui.state.textContent = "";
          ui.state.className = "state ok";
          ui.state.appendChild(link);
          ui.cancel.remove();
          return;
        }
        var transient = answer && (answer.status === 408 || answer.status === 429 ||
                                   (answer.status === 409 && "offset" in answer.data));
        if (answer && answer.status >= 400 && answer.status < 500 && !transient) {
          setState(ui, answer.data.error || msg.msgFailed, "bad");  // refused: nothing was stored
          ui.cancel.remove();
          return;
        }
        // Dropped connection, store unavailable (503) or wrong offset (409): ask where to go on, then resume.
        if (answer && answer.status === 503) { setState(ui, answer.data.error || msg.msgFailed, "bad"); }
        else { setState(ui, msg.msgRetry.replace("%s", delay), "bad"); }
        await sleep(delay * 1000);
        delay = Math.min(delay * 2, 60);
        try {
          var where = await request("GET", uploadUrl, null);
          if (where.status === 200) { offset = where.data.offset; ui.bar.value = offset; }
          else if (where.status === 404) { setState(ui, where.data.error || msg.msgFailed, "bad"); return; }
        } catch (e) { /* still offline: try again */ }
      }
    } finally {
      stopKeepalive();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!form.reportValidity()) { return; }
    var meta = fields();
    var files = Array.prototype.slice.call(document.getElementById("files").files);
    files.forEach(function (file) { upload(file, meta); });
    form.reset();
    typeSelect.value = meta.type_code;
    stageSelect.value = meta.stage;
    showAvFields();
  });

  window.addEventListener("beforeunload", function (event) {
    if (running > 0) { event.preventDefault(); event.returnValue = msg.msgLeave; }
  });
})();
