"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""
from .people import ApiToken, Body, BodyKind, Certificate, CertificateStatus, Role, User, UserRole  # noqa: F401
from .catalogue import DiscretionBand, Matter, MatterCategory, PowerSource  # noqa: F401
from .case import Case, CaseCounter, CaseOfficer, PartyKind, Route, Source, Stage  # noqa: F401
from .audit import AuditEvent, AuditHead  # noqa: F401
from .record import Record, RecordKind, RecordRequirement, RecordType, Upload  # noqa: F401
from .calendar import CalendarOverride  # noqa: F401
from .review import (CollectiveDiscussion, Decision, DecisionKind, DecisionType, DeadlineExtension, Notice,  # noqa: F401
                     ReviewerAssignment, ReviewRequest, ReviewStatus)
from .disclosure import (AnnualReport, Challenge, ChallengeKind, ChallengeOutcome, DisclosureSettings,  # noqa: F401
                         HoldReason, Publication, PublicationCategory, PublicationKind, PublicationStatus,
                         WITHDRAWING_OUTCOMES)
from .checks import CheckRun  # noqa: F401
from .execution import (DocumentService, Execution, FinePayment, SelfCheck, ServedDocument,  # noqa: F401
                        ServiceMethod, execution_officers)
