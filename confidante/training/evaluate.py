"""How well a model predicts preferred replies: the loss training lowers, measured the same way.

A reply's loss is its mean negative log-likelihood per token given the prompt, tokenized as
TRL tokenizes a conversational prompt-completion row (the prompt with the generation prompt,
then the whole conversation; the reply is what follows the prompt, end-of-turn included), so
it is the number SFT minimises and the one inference depends on. torch is imported lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confidante.records import ChatMessages


@dataclass(frozen=True, kw_only=True)
class ReplyLoss:
    """The summed negative log-likelihood of one reply and how many tokens it has."""

    nll: float
    tokens: int

    @property
    def mean(self) -> float:
        """Per-token loss."""
        return self.nll / max(self.tokens, 1)


def reply_loss(model: Any, tokenizer: Any, prompt: ChatMessages, reply: ChatMessages) -> ReplyLoss:
    """The loss of ``reply`` after ``prompt`` under ``model``."""
    import torch

    prompt_ids = tokenizer.apply_chat_template(
        prompt, add_generation_prompt=True, tokenize=True, return_dict=False
    )
    full_ids = tokenizer.apply_chat_template(prompt + reply, tokenize=True, return_dict=False)
    start = _common_prefix(prompt_ids, full_ids)
    targets = torch.tensor(full_ids[start:])
    if start == 0 or not len(targets):
        return ReplyLoss(nll=0.0, tokens=0)
    with torch.inference_mode():
        # Only the reply's positions need logits: the vocabulary projection dominates otherwise.
        logits = model(input_ids=torch.tensor([full_ids]), logits_to_keep=len(targets) + 1).logits[
            0, :-1
        ]
        nll = torch.nn.functional.cross_entropy(logits.float(), targets, reduction="sum")
    return ReplyLoss(nll=float(nll), tokens=len(targets))


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class _Evaluating:
    """Put a model in eval mode (no dropout) for a block, then back as it was."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._was_training = bool(model.training)

    def __enter__(self) -> Any:
        self._model.eval()
        return self._model

    def __exit__(self, *exc: object) -> None:
        self._model.train(self._was_training)


def mean_loss(model: Any, tokenizer: Any, rows: Sequence[dict[str, Any]]) -> float | None:
    """Token-weighted mean loss of the replies of prompt-completion rows; None for no rows."""
    with _Evaluating(model):
        losses = [reply_loss(model, tokenizer, r["prompt"], r["completion"]) for r in rows]
    tokens = sum(x.tokens for x in losses)
    return sum(x.nll for x in losses) / tokens if tokens else None


def preference_accuracy(
    model: Any, tokenizer: Any, pairs: Sequence[dict[str, Any]]
) -> float | None:
    """Share of DPO rows whose chosen reply has a lower per-token loss than the rejected one."""
    if not pairs:
        return None
    wins = 0
    with _Evaluating(model):
        for pair in pairs:
            chosen = reply_loss(model, tokenizer, pair["prompt"], pair["chosen"])
            rejected = reply_loss(model, tokenizer, pair["prompt"], pair["rejected"])
            wins += chosen.mean < rejected.mean
    return wins / len(pairs)
