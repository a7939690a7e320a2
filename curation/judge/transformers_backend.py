"""Judge back-end on a local `transformers` causal LM: chat template, greedy decoding, left-padded batches.

The model loads lazily (once) by name or path with safetensors weights, on CUDA in bfloat16 when a GPU
is present, else on CPU. Greedy decoding is deterministic, so a malformed reply is not re-asked: it
becomes a failed item with the raw reply kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from curation.errors import CurationError
from curation.judge.result import Judgement, JudgeRequest, ResultCallback


def batched(items: Iterable[JudgeRequest], size: int) -> Iterator[list[JudgeRequest]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class TransformersJudge:
    def __init__(self, model_name: str, *, batch_size: int = 8, max_new_tokens: int = 512,
                 device: str | None = None, model: Any = None, tokenizer: Any = None) -> None:
        """`model`/`tokenizer` may be passed already built (tests build tiny ones); else load `model_name`."""
        self.model = model_name
        self.batch_size, self.max_new_tokens, self.device = batch_size, max_new_tokens, device
        self._model, self._tokenizer = model, tokenizer

    def judge(self, requests: Iterable[JudgeRequest], on_result: ResultCallback) -> None:
        self._load()
        for batch in batched(requests, self.batch_size):
            replies = self.generate([request.prompt for request in batch])
            for request, reply in zip(batch, replies, strict=True):
                on_result(Judgement.from_reply(request.key, reply))

    def generate(self, prompts: list[str]) -> list[str]:
        """Greedy replies to `prompts`, each sent as one user turn through the chat template."""
        import torch

        self._load()
        tokenizer, model = self._tokenizer, self._model
        texts = [tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                               add_generation_prompt=True) for prompt in prompts]
        inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        inputs = inputs.to(model.device)
        with torch.inference_mode():
            output = model.generate(**inputs, do_sample=False, max_new_tokens=self.max_new_tokens,
                                    pad_token_id=tokenizer.pad_token_id)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return tokenizer.batch_decode(new_tokens, skip_special_tokens=True)

    def _load(self) -> None:
        if self._model is None or self._tokenizer is None:
            self._model, self._tokenizer = load_model(self.model, self.device)
        tokenizer = self._tokenizer
        if not getattr(tokenizer, "chat_template", None):
            raise CurationError(f"tokenizer of {self.model!r} has no chat template; "
                                "use an instruction-tuned model")
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._model.eval()


def load_model(name: str, device: str | None = None) -> tuple[Any, Any]:
    """Tokenizer and causal LM by Hub name or local path (safetensors only), on `device` or the best one."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype, use_safetensors=True).to(device)
    except OSError as error:
        raise CurationError(f"cannot load judge model {name!r}: {error}") from None
    return model, tokenizer
