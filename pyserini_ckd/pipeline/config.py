"""Pipeline settings: a profile (``resources/profiles/NAME.json``) merged with an optional JSON config."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from ..errors import ConfigError, InputError

PROFILES_DIR = Path(__file__).resolve().parents[2] / "resources" / "profiles"
PROFILES = ("quick", "compare-cpu", "full")


def deep_merge(base: Dict[str, Any], override: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(profile: str, config_file: Optional[Path] = None) -> Dict[str, Any]:
    path = PROFILES_DIR / f"{profile}.json"
    if profile not in PROFILES or not path.is_file():
        raise ConfigError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    settings = json.loads(path.read_text())
    if config_file:
        try:
            override = json.loads(Path(config_file).read_text())
        except FileNotFoundError:
            raise InputError(config_file, None, "no such config file") from None
        except json.JSONDecodeError as exc:
            raise InputError(config_file, exc.lineno, f"malformed JSON: {exc.msg}") from None
        unknown = set(override) - set(settings)
        if unknown:
            raise InputError(config_file, None, f"unknown setting(s): {', '.join(sorted(unknown))}")
        settings = deep_merge(settings, override)
    settings.pop("_comment", None)
    return settings


@dataclass
class PipelineConfig:
    dataset: str
    workdir: Path
    profile: str = "quick"
    device: str = "cpu"
    transfer: Optional[list] = None
    config_file: Optional[Path] = None

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        if self.device not in ("cpu", "cuda"):
            raise ConfigError(f"device must be cpu or cuda, got {self.device!r}")
        self.settings = load_settings(self.profile, self.config_file)
        if self.transfer is not None:
            self.settings["transfer"] = list(self.transfer)
        if not self.settings["seeds"]:
            raise ConfigError("seeds must not be empty")
        if self.settings["fusion"].get("tune_on", "dev") not in ("dev", "dev-unseen"):
            raise ConfigError(f"fusion.tune_on must be dev or dev-unseen, got {self.settings['fusion']['tune_on']!r}")
