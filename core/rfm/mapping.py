"""Transactions column mapping: which column is the customer, the date, the money (docs/RFM.md).

`detect_columns` guesses the mapping from column names and sample values; `resolve_mapping` completes
a mapping the user gave and refuses one that cannot work, with a message a person can act on (never a
CLI flag: the CLI adds its own words).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields

from core.dates import looks_like_date
from core.errors import InputError

KIND = "transactions"
ROLES = ("customer", "date", "amount", "quantity", "price", "invoice")
RFM_FEATURES = ["recency_days", "frequency", "monetary"]
# The derived customer table, in this order (names are relied on by naming and segmentation).
CUSTOMER_COLUMNS = [
    "customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
    "rfm_score", "rfm_group", "first_purchase", "last_purchase", "returns",
]
SAMPLE_ROWS = 500  # rows looked at by column detection
SAMPLES = 5  # sample rows/values kept per finding

@dataclass
class TransactionMapping:
    """Which column of a transactions table plays which part.

    Monetary comes from `amount` when it is set, else from `quantity` * `price`. `invoice` is
    optional. `sure` is False when detection had to guess (the UI should then ask the user to
    confirm the mapping); `reasons` says why, one sentence per doubt.
    """

    customer: str | None = None
    date: str | None = None
    amount: str | None = None
    quantity: str | None = None
    price: str | None = None
    invoice: str | None = None
    sure: bool = True
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> "TransactionMapping":
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise InputError(
                f"unknown mapping key(s) {', '.join(sorted(map(str, unknown)))}; use {', '.join(ROLES)}"
            )
        values = {k: (v if v not in ("", None) else None) for k, v in data.items()}
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    def roles(self) -> dict[str, str]:
        """role -> column for every role that is set."""
        return {r: getattr(self, r) for r in ROLES if getattr(self, r)}

    def describe(self) -> str:
        money = (
            f"amount = '{self.amount}'"
            if self.amount
            else f"quantity x price = '{self.quantity}' x '{self.price}'"
        )
        parts = [f"customer = '{self.customer}'", f"date = '{self.date}'", money]
        if self.amount and self.quantity:
            parts.append(f"quantity sign = '{self.quantity}'")
        parts.append(f"invoice = '{self.invoice}'" if self.invoice else "no invoice column")
        return ", ".join(parts)


# Name patterns per role, strongest first: (regex over the normalised name, score).
# Normalised: lower case, every run of non-alphanumerics -> one space, trimmed.
_NAME_PATTERNS: dict[str, list[tuple[str, int]]] = {
    "customer": [
        (r"^(customer|cust|client|member|user|buyer|shopper|account|consumer) ?(id|no|nr|number|code|key|num)$", 10),
        (r"^(customerid|custid|clientid|userid|memberid|accountid|buyerid|customerno|customernumber)$", 10),
        (r"^(customer|client|member|buyer|shopper|consumer)$", 9),
        (r"\b(customer|cust|client|member|buyer|shopper|consumer)\b.*\b(id|no|nr|number|code|key)\b", 8),
        (r"\b(customer|client|member|buyer|shopper|consumer|user|account)\b", 5),
        (r"(customer|client)", 4),
    ],
    "date": [
        (r"^(date|invoice ?date|order ?date|purchase ?date|transaction ?date|sale ?date|sales ?date|"
         r"txn ?date|trans ?date|timestamp|datetime|date ?time|order ?time|purchase ?time|invoicedate|orderdate)$", 10),
        (r"\b(date|datetime|timestamp)\b", 8),
        (r"(date|timestamp)$", 7),
        (r"\b(time|day|created|purchased|ordered)( at| on)?\b", 4),
    ],
    "amount": [
        (r"^(amount|total|revenue|sales|sale amount|spend|spent|monetary|line total|total amount|"
         r"order total|order value|total price|value|net amount|gross amount|turnover|payment|paid|"
         r"amount spent|dollar value|dollars|sales amount|transaction amount|purchase amount)$", 10),
        (r"\b(amount|amt|revenue|sales|spend|spent|monetary|turnover|subtotal)\b", 8),
        (r"\b(total|value|dollar|dollars|payment|paid)\b", 6),
    ],
    "quantity": [
        (r"^(quantity|qty|units|quantity ordered|qty ordered|number of items|items|pieces|pcs|units sold)$", 10),
        (r"\b(quantity|qty|units)\b", 8),
        (r"\b(items|pieces|pcs|count)\b", 5),
    ],
    "price": [
        (r"^(price|unit ?price|unitprice|price each|price per unit|unit ?cost|item price|sale price|selling price)$", 10),
        (r"\b(price|unitprice)\b", 8),
        (r"\b(cost|rate)\b", 4),
    ],
    "invoice": [
        (r"^(invoice|invoice ?(no|nr|id|number|num)|order ?(id|no|nr|number|num)|transaction ?(id|no|number)|"
         r"txn ?id|receipt ?(id|no|number)?|basket ?id|bill ?(no|id|number)|ticket ?(id|no)|"
         r"invoiceno|invoiceid|orderid|orderno|transactionid)$", 10),
        (r"\b(invoice|receipt|basket|order|transaction|txn|bill)\b.*\b(id|no|nr|number|num|code)\b", 8),
        (r"\b(invoice|receipt|basket)\b", 7),
        (r"\b(order|transaction|txn)\b", 4),
    ],
}

_NUMBER_RE = re.compile(r"^[-+]?[$€£¥]?\s?[-+]?(\d+(\.\d*)?|\.\d+|\d{1,3}(,\d{3})+(\.\d*)?)([eE][-+]?\d+)?$")


def _norm_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", str(name).lower()).strip()


def is_number_text(v: str) -> bool:
    return bool(_NUMBER_RE.match(v.strip()))


def _number(v: str) -> float | None:
    v = v.strip().replace("$", "").replace("€", "").replace("£", "").replace("¥", "").replace(" ", "")
    if re.match(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$", v):
        v = v.replace(",", "")
    try:
        return float(v)
    except ValueError:
        return None


@dataclass
class _ColumnProfile:
    name: str
    values: int  # non-empty sample values
    date: float  # share that read as dates
    number: float  # share that read as numbers
    decimals: float  # share of numbers with a fractional part
    negative: float
    distinct: float  # distinct values / values


def _profile(name: str, values: list[str]) -> _ColumnProfile:
    vals = [str(v).strip() for v in values if v is not None and str(v).strip() != ""]
    n = len(vals)
    if n == 0:
        return _ColumnProfile(name, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    nums = [x for x in (_number(v) if is_number_text(v) else None for v in vals) if x is not None]
    return _ColumnProfile(
        name=name,
        values=n,
        date=sum(looks_like_date(v) for v in vals) / n,
        number=len(nums) / n,
        decimals=(sum(x != int(x) for x in nums if abs(x) < 1e15) / len(nums)) if nums else 0.0,
        negative=(sum(x < 0 for x in nums) / len(nums)) if nums else 0.0,
        distinct=len(set(vals)) / n,
    )


def _type_fits(role: str, p: _ColumnProfile) -> bool:
    if p.values == 0:
        return True  # nothing to contradict the name
    if role == "date":
        return p.date >= 0.8
    if role in ("amount", "price", "quantity"):
        return p.number >= 0.8 and p.date < 0.5
    return p.date < 0.5  # customer, invoice: anything but dates


def detect_columns(columns: list[str], sample: dict[str, list[str]]) -> TransactionMapping:
    """Guess the mapping from column names and the type of sample values (raw text per column).

    Names decide first (a "Customer ID" column is the customer), values must agree (a column
    named "date" whose values are not dates is not the date). Roles no name points to are filled by
    type: the first column whose values are all dates is the date, a numeric column with decimals is
    the amount, the first remaining id-like column is the customer. Anything guessed by type, or
    any tie between two names, makes `sure` False with a reason.
    """
    profiles = {c: _profile(c, list(sample.get(c, []))) for c in columns}
    scored: list[tuple[int, str, str]] = []  # (score, role, column), name and values agree
    named: list[tuple[int, str, str]] = []  # name only
    for col in columns:
        name = _norm_name(col)
        for role, patterns in _NAME_PATTERNS.items():
            score = next((s for pat, s in patterns if re.search(pat, name)), 0)
            if score:
                named.append((score, role, col))
                if _type_fits(role, profiles[col]):
                    scored.append((score, role, col))

    mapping = TransactionMapping()
    reasons: list[str] = []
    used: set[str] = set()
    role_rank = {r: i for i, r in enumerate(("date", "customer", "invoice", "price", "quantity", "amount"))}
    for score, role, col in sorted(scored, key=lambda t: (-t[0], role_rank[t[1]], columns.index(t[2]))):
        if col in used or getattr(mapping, role):
            continue
        rivals = [c for s, r, c in scored if r == role and s == score and c != col and c not in used]
        if rivals and role in ("customer", "date", "amount", "invoice"):
            reasons.append(
                f"{role}: '{col}' and '{rivals[0]}' fit equally well; '{col}' was chosen"
            )
        setattr(mapping, role, col)
        used.add(col)

    _fill_by_values(mapping, columns, profiles, used, reasons)

    # Required roles still missing: a column named for the role whose values do not fit is still
    # taken, so that the load reports its values rather than claiming the column does not exist.
    for role in ("customer", "date", "amount"):
        if getattr(mapping, role) or (role == "amount" and mapping.quantity and mapping.price):
            continue
        by_name = sorted((t for t in named if t[1] == role and t[2] not in used), key=lambda t: -t[0])
        if by_name:
            setattr(mapping, role, by_name[0][2])
            used.add(by_name[0][2])
            reasons.append(f"{role}: '{by_name[0][2]}' is named like one but its values do not look like it")
    for role in ("customer", "date"):
        if not getattr(mapping, role):
            reasons.append(f"{role}: no column looks like a {role}")
    if not mapping.amount and not (mapping.quantity and mapping.price):
        reasons.append("amount: no amount column, nor a quantity and a price column")
    mapping.reasons = reasons
    mapping.sure = not reasons
    return mapping


def _fill_by_values(mapping: TransactionMapping, columns: list[str], profiles: dict[str, _ColumnProfile],
                    used: set[str], reasons: list[str]) -> None:
    """Roles no name pointed to, taken from the values: money, then the date, then the customer."""
    # Monetary: an amount, or quantity and price. A name-detected amount wins; quantity alone is
    # kept only for the sign of returns.
    if not mapping.amount and not (mapping.quantity and mapping.price):
        by_type = [c for c in columns if c not in used and profiles[c].number >= 0.95
                   and profiles[c].date < 0.5 and profiles[c].decimals > 0]
        if mapping.price and not mapping.quantity:
            mapping.amount, mapping.price = mapping.price, None
            reasons.append(f"amount: no quantity column, so '{mapping.amount}' was taken as the line amount")
        elif len(by_type) >= 1:
            mapping.amount = by_type[-1]
            used.add(mapping.amount)
            reasons.append(f"amount: '{mapping.amount}' was chosen by its values (numbers with decimals)")
        if mapping.quantity and not mapping.price and mapping.amount is None:
            reasons.append("amount: quantity found but no price or amount column")

    if not mapping.date:
        free = [c for c in columns if c not in used and profiles[c].values and profiles[c].date >= 0.95]
        if free:
            mapping.date = free[0]
            used.add(free[0])
            reasons.append(f"date: '{mapping.date}' was chosen by its values (they read as dates)")

    if not mapping.customer:
        free = [
            c for c in columns
            if c not in used and profiles[c].values and profiles[c].date < 0.5
            and (profiles[c].number < 0.95 or (profiles[c].decimals == 0 and profiles[c].negative == 0))
        ]
        if free:
            mapping.customer = free[0]
            used.add(free[0])
            reasons.append(f"customer: '{mapping.customer}' was chosen by its position and values")


def resolve_mapping(
    columns: list[str], sample: dict[str, list[str]], given: TransactionMapping | dict | None
) -> tuple[TransactionMapping, list[str]]:
    """The mapping to use: the given roles, completed by detection. Raises InputError when a named
    column does not exist or a required role is missing. Returns the mapping and report warnings."""
    if isinstance(given, dict):
        given = TransactionMapping.from_dict(given)
    detected = detect_columns(columns, sample)
    shown = ", ".join(f"'{c}'" for c in columns[:20]) + (", ..." if len(columns) > 20 else "")
    warnings: list[str] = []
    if given is None or not given.roles():
        mapping = detected
        if not detected.sure:
            warnings.append(
                "transactions: the columns were guessed, please check them: " + "; ".join(detected.reasons)
                + " (name the columns in the column mapping to change them)"
            )
    else:
        for role, col in given.roles().items():
            if col not in columns:
                raise InputError(f"the {role} column '{col}' is not in the file; its columns are {shown}")
        mapping = TransactionMapping(**{r: getattr(given, r) for r in ROLES})
        money_given = bool(given.amount or given.quantity or given.price)
        taken = set(given.roles().values())
        for role in ("customer", "date", "invoice") + (() if money_given else ("amount", "quantity", "price")):
            col = getattr(detected, role)
            if not getattr(mapping, role) and col and col not in taken:
                setattr(mapping, role, col)
                taken.add(col)
                warnings.append(f"transactions: the {role} column was detected as '{col}'")
    missing = []
    if not mapping.customer:
        missing.append("customer id")
    if not mapping.date:
        missing.append("date")
    if not mapping.amount and not (mapping.quantity and mapping.price):
        if mapping.quantity and not mapping.price:
            missing.append("price (a quantity column needs a unit price, or give an amount column)")
        elif mapping.price and not mapping.quantity:
            missing.append("quantity (a price column needs a quantity, or give an amount column)")
        else:
            missing.append("amount (or quantity and price)")
    if missing:
        raise InputError(
            f"no {' and no '.join(missing)} column found in the transactions; name it in the column "
            f"mapping. Columns: {shown}"
        )
    if len(set(mapping.roles().values())) < len(mapping.roles()):
        raise InputError(f"one column cannot play two parts in the mapping ({mapping.describe()})")
    return mapping, warnings
