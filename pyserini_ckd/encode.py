"""``python -m pyserini_ckd.encode``: encode a corpus into a dense index that Pyserini's FaissSearcher loads.

Shaped like ``python -m pyserini.encode``, in three sections::

    python -m pyserini_ckd.encode \\
      input   --corpus DATASET_OR_JSONL [--fields title text] [--shard-id I --shard-num N] \\
      output  --embeddings DIR [--to-faiss] \\
      encoder --encoder MODEL [--batch-size 32] [--max-length 256] [--device cpu] [--fp16 | --bf16]

and ``python -m pyserini_ckd.encode merge --shards DIR [DIR ...] --embeddings OUT`` to merge shards.
The dimension always comes from the model. The output is always a Faiss flat index (``--to-faiss`` is
accepted for compatibility with Pyserini's command lines).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .cli import run_cli
from .data.datasets import resolve_dataset
from .dense.corpus_encoding import EncodeConfig, encode_corpus
from .dense.faiss_index import merge_shards
from .errors import ConfigError
from .jobs import add_arguments, field_names

SECTIONS = ("input", "output", "encoder", "merge")


def _section_parsers() -> Dict[str, argparse.ArgumentParser]:
    """The input, output and encoder sections from :class:`EncodeConfig`'s fields (their ``group``), and merge."""
    parsers = {}
    for name in ("input", "output", "encoder"):
        parsers[name] = argparse.ArgumentParser(prog=name, add_help=False)
        add_arguments(parsers[name], EncodeConfig, section=name)
    parsers["output"].add_argument("--to-faiss", action="store_true", help="accepted for compatibility; always on")
    precision = parsers["encoder"].add_mutually_exclusive_group()  # EncodeConfig.precision: auto unless one is given
    precision.add_argument("--fp16", action="store_true")
    precision.add_argument("--bf16", action="store_true")
    precision.add_argument("--fp32", action="store_true", help="no autocast, also on a GPU")
    merge = argparse.ArgumentParser(prog="merge", add_help=False)
    merge.add_argument("--shards", nargs="+", type=Path, required=True)
    merge.add_argument("--embeddings", type=Path, required=True)
    parsers["merge"] = merge
    return parsers


class _SectionedParser(argparse.ArgumentParser):
    """Splits argv at the section names and parses each part with its own parser."""

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        if not argv or argv[0] in ("-h", "--help"):
            print(__doc__)
            raise SystemExit(0 if argv else 2)
        parts: Dict[str, List[str]] = {}
        current = None
        for token in argv:
            if token in SECTIONS:
                current = token
                parts[current] = []
            elif current is None:
                self.error(f"expected a section ({', '.join(SECTIONS)}) before {token!r}")
            else:
                parts[current].append(token)
        parsers = _section_parsers()
        ns = argparse.Namespace(sections=set(parts))
        for name, tokens in parts.items():
            try:
                parsed = parsers[name].parse_args(tokens)
            except SystemExit:
                raise SystemExit(2) from None
            ns.__dict__.update({f"{name}_{k}": v for k, v in vars(parsed).items()})
        return ns


def build_parser() -> argparse.ArgumentParser:
    return _SectionedParser(description=__doc__)


def _corpus_path(spec: str) -> Path:
    path = Path(spec)
    if path.is_file():
        return path
    return resolve_dataset(spec).corpus_path


def _run(args: argparse.Namespace) -> None:
    if "merge" in args.sections:
        merge_shards(args.merge_shards, args.merge_embeddings)
        return
    missing = {"input", "output"} - args.sections
    if missing:
        raise ConfigError(f"missing section(s): {', '.join(sorted(missing))}")
    precision = ("fp16" if getattr(args, "encoder_fp16", False) else "bf16" if getattr(args, "encoder_bf16", False)
                 else "fp32" if getattr(args, "encoder_fp32", False) else "auto")
    # each section's options as EncodeConfig's fields (an absent encoder section keeps EncodeConfig's defaults)
    values = {k.split("_", 1)[1]: v for k, v in vars(args).items() if k.split("_", 1)[0] in ("input", "output", "encoder")}
    values = {k: v for k, v in values.items() if k in field_names(EncodeConfig)}
    values["corpus"] = _corpus_path(str(values["corpus"]))
    config = EncodeConfig(**values, precision=precision)
    encode_corpus(config)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.encode", build_parser, _run, argv)


if __name__ == "__main__":
    main()
