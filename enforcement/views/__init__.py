"""Blueprints, thin: parse the form, call one service, commit, render or redirect."""
from .admin import bp as admin_bp
from .api import bp as api_bp
from .archive import bp as archive_bp
from .auth import bp as auth_bp
from .cases import bp as cases_bp
from .challenges import bp as challenges_bp
from .dashboard import bp as dashboard_bp
from .decisions import bp as decisions_bp
from .disclosure import bp as disclosure_bp
from .execution import bp as execution_bp
from .main import bp as main_bp
from .oversight import bp as oversight_bp
from .public import bp as public_bp
from .records import bp as records_bp
from .reports import bp as reports_bp
from .review import bp as review_bp

BLUEPRINTS = (auth_bp, main_bp, cases_bp, admin_bp, api_bp, public_bp, records_bp, review_bp,
              decisions_bp, disclosure_bp, reports_bp, challenges_bp, oversight_bp, archive_bp,
              dashboard_bp, execution_bp)
