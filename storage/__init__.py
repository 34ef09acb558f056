"""Object storage for the records tracker: one interface, a local and an S3 backend.

Choose a backend with a URL (`store_from_url`):

- ``file:///srv/records`` or ``file:relative/dir`` -> `LocalStore`
- ``s3://bucket?endpoint=http://127.0.0.1:8333&region=us-east-1`` -> `S3Store`

The contract is in `storage.base.ObjectStore`; it knows nothing of cases.
Besides `put()` it offers resumable uploads in parts (`start_upload`,
`upload_parts`, `list_parts`, `complete_upload`, `abort_upload`).
"""

from .base import (
    ObjectExists,
    ObjectReader,
    ObjectStore,
    PartConflict,
    StorageError,
    StoredObject,
    UploadedPart,
    download_headers,
    validate_key,
)
from .factory import store_from_url

__all__ = [
    "ObjectExists",
    "ObjectReader",
    "ObjectStore",
    "PartConflict",
    "StorageError",
    "StoredObject",
    "UploadedPart",
    "download_headers",
    "store_from_url",
    "validate_key",
]
