"""Saving a teacher as a folder: the backbone (safetensors) and tokenizer, one extra module's weights
(the projection or the scoring head) and a JSON config, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Union

import torch

from ..atomic import atomic_output


def save_model_dir(out_dir: Union[str, Path], backbone, tokenizer, module: torch.nn.Module, module_file: str,
                   config_file: str, config: dict, extra=None) -> Path:
    """``extra(tmp_dir)``, if given, adds files (a training log, say) before the folder is renamed."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    with atomic_output(out_dir, directory=True) as tmp:
        backbone.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp / module_file))
        (tmp / config_file).write_text(json.dumps(config, indent=2) + "\n")
        if extra is not None:
            extra(tmp)
    return out_dir
