"""Master-data commands (`flask --app app admin …`)."""
from flask.cli import AppGroup

admin_cli = AppGroup("admin", help="Master data: bodies, users, certificates, matters.")
