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

from .cli import positive_int, run_cli
from .data.datasets import resolve_dataset
from .dense.corpus_encoding import FIELDS, EncodeConfig, encode_corpus
from .dense.faiss_index import merge_shards
from .errors import ConfigError

SECTIONS = ("input", "output", "encoder", "merge")


def _section_parsers() -> Dict[str, argparse.ArgumentParser]:
    inp = argparse.ArgumentParser(prog="input", add_help=False)
    inp.add_argument("--corpus", required=True, help="dataset folder or name, or a corpus JSONL (BEIR or Pyserini)")
    inp.add_argument("--fields", nargs="+", default=list(FIELDS), help="which document fields form the passage text")
    inp.add_argument("--shard-id", type=int, default=0)
    inp.add_argument("--shard-num", type=positive_int, default=1)
    inp.add_argument("--chunk-size", type=positive_int, default=2048, help="documents read and encoded at a time")
    out = argparse.ArgumentParser(prog="output", add_help=False)
    out.add_argument("--embeddings", type=Path, required=True, help="output folder (index, docid, pyserini_ckd.json)")
    out.add_argument("--to-faiss", action="store_true", help="accepted for compatibility; always on")
    enc = argparse.ArgumentParser(prog="encoder", add_help=False)
    enc.add_argument("--encoder", default="minilm", help="model directory or 'minilm'")
    enc.add_argument("--batch-size", type=positive_int, default=32)
    enc.add_argument("--max-length", type=positive_int, default=None, help="passage length (default: the model's)")
    enc.add_argument("--device", default="cpu")
    precision = enc.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true")
    precision.add_argument("--bf16", action="store_true")
    precision.add_argument("--fp32", action="store_true", help="no autocast, also on a GPU")
    merge = argparse.ArgumentParser(prog="merge", add_help=False)
    merge.add_argument("--shards", nargs="+", type=Path, required=True)
    merge.add_argument("--embeddings", type=Path, required=True)
    return {"input": inp, "output": out, "encoder": enc, "merge": merge}


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
    config = EncodeConfig(
        corpus=_corpus_path(args.input_corpus), embeddings=args.output_embeddings,
        encoder=getattr(args, "encoder_encoder", "minilm"), fields=args.input_fields,
        shard_id=args.input_shard_id, shard_num=args.input_shard_num,
        batch_size=getattr(args, "encoder_batch_size", 32), max_length=getattr(args, "encoder_max_length", None),
        device=getattr(args, "encoder_device", "cpu"), precision=precision, chunk_size=args.input_chunk_size)
    encode_corpus(config)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.encode", build_parser, _run, argv)


if __name__ == "__main__":
    main()
