"""What is wrong with a config, where: :class:`ConfigProblem` (file, line, path, message) and
:class:`ConfigError`, the one exception that lists them."""

from __future__ import annotations

from dataclasses import dataclass, field

from amprelay.config.models import Config
from amprelay.errors import AmprelayError


@dataclass
class ConfigProblem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        at = f" ({self.path})" if self.path else ""
        return f"{where}{at}: {self.message}"


class ConfigError(AmprelayError):
    def __init__(self, problems: list[ConfigProblem]):
        self.problems = sorted(problems, key=lambda p: p.line or 0)  # in file order
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class LoadedConfig:
    config: Config
    file: str
    warnings: list[str] = field(default_factory=list)


def dotted(path: tuple) -> str:
    """A path in the config as people write it: ``destinations[0].settings.apiKey``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
