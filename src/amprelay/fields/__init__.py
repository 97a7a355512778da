"""Action fields: schemas, the reference's empty-value removal, ajv-like validation and coercion, and
the dayjs/V8 date handling the Amplitude destination relies on."""

from .dates import dayjs_is_valid, dayjs_utc_value, is_date_like
from .empty import remove_empty_values
from .errors import FieldIssue, PayloadValidationError
from .model import InputField, default_mapping
from .schema import SchemaNode, fields_to_schema
from .validate import NeedsExactPath, Validator, compile_validator, validate_payload

__all__ = [
    "InputField",
    "NeedsExactPath",
    "FieldIssue",
    "PayloadValidationError",
    "SchemaNode",
    "Validator",
    "compile_validator",
    "dayjs_is_valid",
    "dayjs_utc_value",
    "default_mapping",
    "fields_to_schema",
    "is_date_like",
    "remove_empty_values",
    "validate_payload",
]
