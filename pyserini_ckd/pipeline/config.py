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


def _training_keys() -> set:
    """The settings a profile may give a model's training: the trainer's own (``TrainConfig``), less what the
    pipeline decides (paths, seed, device)."""
    from dataclasses import fields

    from ..training.config import TrainConfig

    return {f.name for f in fields(TrainConfig)} - {"output", "init", "seed", "device"}


def schema() -> Dict[str, Any]:
    """Every setting a profile may hold, at any depth: a dict is a section (its keys), ``None`` a leaf."""
    train = dict.fromkeys(_training_keys())
    leaf = dict.fromkeys
    from ..jobs import field_names
    from ..labeling.labelers import LabelSettings
    from ..teacher.prf import PRFConfig, RocchioConfig
    from .settings import SECTIONS, ExperimentSettings

    return {
        "_comment": None, **leaf(field_names(ExperimentSettings)),
        **{name: leaf(field_names(cls)) for name, cls in SECTIONS.items()},
        "warm_start": train,
        "teacher": {**train, **leaf(MODEL_KEYS["teacher"])},
        "cross_encoder": {**train, **leaf(MODEL_KEYS["cross_encoder"])},
        "labels": {**leaf(PIPELINE_LABEL_KEYS), **leaf(f for f in field_names(LabelSettings) if f not in ("prf", "rocchio")),
                   "prf": leaf(field_names(PRFConfig)), "rocchio": leaf(field_names(RocchioConfig))},
        "students": {**train, **leaf(MODEL_KEYS["students"])},
    }


def unknown_keys(settings: Dict[str, Any], allowed: Optional[Dict[str, Any]] = None, prefix: str = "") -> list:
    """Dotted names of the settings that ``schema()`` does not know, at any depth."""
    allowed = schema() if allowed is None else allowed
    out = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if key not in allowed:
            out.append(name)
        elif isinstance(allowed[key], dict) and isinstance(value, dict):
            out += unknown_keys(value, allowed[key], name + ".")
    return out


def load_settings(profile: str, config_file: Optional[Path] = None) -> Dict[str, Any]:
    path = PROFILES_DIR / f"{profile}.json"
    if profile not in PROFILES or not path.is_file():
        raise ConfigError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    settings = json.loads(path.read_text())
    bad = unknown_keys(settings)
    if bad:
        raise InputError(path, None, f"unknown setting(s): {', '.join(bad)}")
    if config_file:
        try:
            override = json.loads(Path(config_file).read_text())
        except FileNotFoundError:
            raise InputError(config_file, None, "no such config file") from None
        except json.JSONDecodeError as exc:
            raise InputError(config_file, exc.lineno, f"malformed JSON: {exc.msg}") from None
        bad = unknown_keys(override)
        if bad:  # checked before any stage runs: a misspelt nested key would otherwise fail inside a later stage
            raise InputError(config_file, None, f"unknown setting(s): {', '.join(bad)}")
        settings = deep_merge(settings, override)
    settings.pop("_comment", None)
    try:
        check_settings(settings)
    except ConfigError as exc:  # a wrong type or a value out of range, named with its key, before any stage runs
        raise InputError(config_file or path, None, str(exc)) from None
    return settings


# the keys of a model section that describe the model, not its training (TrainConfig has none of them)
LI_MODEL_KEYS = ("dim", "query_maxlen", "doc_maxlen", "similarity")  # the late-interaction teacher's model
JOINT_KEYS = ("from_warm_start", "li_weight")  # teacher.from_warm_start: the warm start carries the teacher
CE_MODEL_KEYS = ("max_length", "pooling")  # the cross-encoder's model
MODEL_KEYS = {"teacher": LI_MODEL_KEYS + JOINT_KEYS, "cross_encoder": CE_MODEL_KEYS, "students": ("temperature_grid",),
              "warm_start": ()}
# the labels section's keys the pipeline reads itself (not the labeler's); ranked: LabelJob.ranked (its default unless set)
PIPELINE_LABEL_KEYS = ("labelers", "pool", "ranked")


def label_values(labels: Dict[str, Any]) -> Dict[str, Any]:
    """The labeler's settings in the profile's ``labels`` section (``None`` values: the defaults)."""
    return {k: v for k, v in labels.items() if k not in PIPELINE_LABEL_KEYS and v is not None}


def _check_section(cls: type, values: Dict[str, Any], where: str, section: Optional[str] = None) -> None:
    """Types (named ``where.key``) and ranges (prefixed with ``section:`` when given) of one section."""
    from ..jobs import build, check_values

    check_values(cls, values, where)
    try:
        build(cls, values)
    except ConfigError as exc:
        if section is None:
            raise
        raise ConfigError(f"{section}: {exc}") from None


def check_settings(settings: Dict[str, Any]) -> None:
    """Types and ranges of the merged settings, checked by building the jobs' settings from them: each
    model section's training settings as the trainer's ``TrainConfig``, ``labels`` as ``LabelSettings``
    (PRF's included), the pipeline's own sections as theirs (:mod:`.settings`). Raises :class:`ConfigError`
    naming the section."""
    from ..jobs import field_names
    from ..labeling.labelers import LabelSettings
    from ..training.config import TrainConfig
    from .settings import SECTIONS, ExperimentSettings

    for section, model_keys in MODEL_KEYS.items():
        values = settings.get(section)
        if not isinstance(values, dict):
            if values is not None or section != "warm_start":
                raise ConfigError(f"{section} must be a section (a JSON object)" + (" or null" if section == "warm_start" else ""))
            continue
        train = {k: v for k, v in values.items() if k not in model_keys and v is not None}
        if section == "students" and train.get("temperature") == "dev":
            train.pop("temperature")  # chosen on the dev rows of each labels file
        _check_section(TrainConfig, {**train, "output": Path(".")}, section, section)
    _check_section(ExperimentSettings, {k: v for k, v in settings.items() if k in field_names(ExperimentSettings)}, "profile")
    for section, cls in SECTIONS.items():
        _check_section(cls, settings.get(section, {}), section, section)
    _check_section(LabelSettings, label_values(settings.get("labels", {})), "labels", "labels")


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
