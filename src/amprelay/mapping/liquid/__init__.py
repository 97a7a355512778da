"""A subset of liquidjs 10.25 for mapping-kit's @liquid directive.

Configured like actions-core 3.170.0: tags case/for/include/layout/render/tablerow and a list of
filters are disabled; unknown filters are the identity (strictFilters off); only `false`, `nil` and
undefined are falsy. Supported: `{{ output }}` with filters, whitespace control, tags if/elsif/else,
unless, assign, capture, echo, comment, raw, `#` comments, increment/decrement. Unsupported
constructs raise LiquidError (so the field fails instead of silently differing).
"""

from .template import compile_liquid
from .values import LiquidError

__all__ = ["LiquidError", "compile_liquid"]
