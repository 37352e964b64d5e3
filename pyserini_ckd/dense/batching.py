"""Length-sorted batches cut by a token budget.

Texts are sorted by token count (longest first) and packed while ``batch_len * max_len_in_batch``
stays within ``max_tokens`` and the batch within ``max_batch`` texts. Padding then costs little, and
the memory of a batch is bounded whatever the lengths. Batches keep the original indices so results
can be put back in input order.
"""

from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple

import torch


def token_budget_batches(lengths: Sequence[int], max_tokens: int, max_batch: int) -> Iterator[List[int]]:
    """Yield lists of indices into ``lengths``; every index appears exactly once."""
    if max_tokens <= 0 or max_batch <= 0:
        raise ValueError("max_tokens and max_batch must be positive")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batch: List[int] = []
    longest = 0
    for i in order:
        length = max(1, lengths[i])
        new_longest = max(longest, length)
        if batch and (len(batch) + 1 > max_batch or new_longest * (len(batch) + 1) > max_tokens):
            yield batch
            batch, new_longest = [], length
        batch.append(i)
        longest = new_longest
    if batch:
        yield batch


def pad_ids(ids: Sequence[Sequence[int]], pad_id: int, device, length: Optional[int] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token id lists to one length: (input_ids, attention_mask), both long, on ``device``."""
    longest = length or max(len(x) for x in ids)
    input_ids = torch.full((len(ids), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), longest), dtype=torch.long)
    for row, x in enumerate(ids):
        input_ids[row, :len(x)] = torch.tensor(x, dtype=torch.long)
        mask[row, :len(x)] = 1
    return input_ids.to(device), mask.to(device)
