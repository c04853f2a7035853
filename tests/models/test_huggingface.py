import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from brainalign import data  # noqa: E402
from brainalign.models import huggingface as hf  # noqa: E402

SENTENCES = ["The cat sat on the mat.", "Unbelievably, tokenization happens", "Dogs bark"]


def _reference_hidden_states(model, tokenizer, texts):
    enc = tokenizer(texts, padding=True, return_tensors="pt", return_special_tokens_mask=True)
    special = enc.pop("special_tokens_mask").bool()
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)
    return out.hidden_states, enc, special


# ---------------------------------------------------------------------------- real MiniLM
def test_minilm_default_layers(minilm):
    model, _ = minilm
    assert hf.transformer_layers(model) == ["embeddings"] + [f"encoder.layer.{i}" for i in range(6)]
    assert hf.mlp_layers(model) == [f"encoder.layer.{i}.intermediate" for i in range(6)]


def test_minilm_sentence_pooling_matches_transformers_hidden_states(minilm):
    model, tok = minilm
    acts = hf.extract_text(model, SENTENCES, tokenizer=tok, pool="sentence", device="cpu", stimulus_id=["a", "b", "c"])
    hidden, enc, special = _reference_hidden_states(model, tok, SENTENCES)
    keep = enc["attention_mask"].bool() & ~special
    layers = data.layer_names(acts)
    assert len(layers) == 7 and acts.sizes["presentation"] == 3
    for k, layer in enumerate(layers):  # hidden_states[0] = embeddings, [k] = output of block k-1
        ref = torch.stack([hidden[k][b][keep[b]].mean(0) for b in range(3)]).numpy()
        np.testing.assert_allclose(acts.sel(unit=acts.layer == layer).values, ref, rtol=1e-4, atol=1e-5)
    assert acts["text"].values.tolist() == SENTENCES


def test_minilm_word_pooling_by_hand(minilm):
    model, tok = minilm
    text = "Unbelievably, tokenization happens"
    tokens = tok.convert_ids_to_tokens(tok(text)["input_ids"])
    assert tokens == ["[CLS]", "un", "##bel", "##ie", "##va", "##bly", ",", "token", "##ization", "happens", "[SEP]"]
    acts = hf.extract_text(model, [text], tokenizer=tok, pool="word", layers=["encoder.layer.3"], device="cpu")
    hidden, _, _ = _reference_hidden_states(model, tok, [text])
    h = hidden[4][0]
    ref = torch.stack([h[1:7].mean(0), h[7:9].mean(0), h[9]]).numpy()
    np.testing.assert_allclose(acts.values, ref, rtol=1e-4, atol=1e-5)
    assert acts["word"].values.tolist() == ["Unbelievably,", "tokenization", "happens"]
    assert acts["stimulus_id"].values.tolist() == ["0:0", "0:1", "0:2"]
    assert acts["word_index"].values.tolist() == [0, 1, 2]
    first = hf.extract_text(
        model, [text], tokenizer=tok, pool="word", word_reduce="first", layers=["encoder.layer.3"], device="cpu"
    )
    last = hf.extract_text(
        model, [text], tokenizer=tok, pool="word", word_reduce="last", layers=["encoder.layer.3"], device="cpu"
    )
    np.testing.assert_allclose(first.values, h[[1, 7, 9]].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(last.values, h[[6, 8, 9]].numpy(), rtol=1e-4, atol=1e-5)
    cls = hf.extract_text(
        model, [text, "Dogs bark"], tokenizer=tok, pool="first", layers=["encoder.layer.3"], device="cpu"
    )
    np.testing.assert_allclose(cls.values[0], h[0].numpy(), rtol=1e-4, atol=1e-5)


def test_minilm_padding_and_batching_do_not_change_words(minilm):
    model, tok = minilm
    texts = ["a b c d e f g h", "short one", "Unbelievably, tokenization happens"]
    one = hf.extract_text(model, texts, tokenizer=tok, layers=["encoder.layer.1"], batch_size=1, device="cpu")
    three = hf.extract_text(model, texts, tokenizer=tok, layers=["encoder.layer.1"], batch_size=3, device="cpu")
    np.testing.assert_allclose(one.values, three.values, rtol=1e-4, atol=1e-5)
    assert one.sizes["presentation"] == 8 + 2 + 3


def test_minilm_mlp_neurons_and_word_lists(minilm):
    model, tok = minilm
    acts = hf.extract_text(
        model, [["red", "apples", "taste", "sweet"]], tokenizer=tok, layers=hf.mlp_layers(model)[:2], device="cpu"
    )
    assert acts.sizes["unit"] == 2 * model.config.intermediate_size
    assert acts["word"].values.tolist() == ["red", "apples", "taste", "sweet"]


def test_minilm_cache(minilm, tmp_path):
    model, tok = minilm
    calls = []
    handle = model.encoder.layer[0].register_forward_hook(lambda *a: calls.append(1))
    try:
        a = hf.extract_text(model, SENTENCES, tokenizer=tok, cache=tmp_path, device="cpu")
        n = len(calls)
        b = hf.extract_text(model, SENTENCES, tokenizer=tok, cache=tmp_path, device="cpu")
        assert len(calls) == n  # cached: no forward pass
        np.testing.assert_array_equal(a.values, b.values)
        hf.extract_text(model, SENTENCES, tokenizer=tok, cache=tmp_path, pool="sentence", device="cpu")
        assert len(calls) > n  # another pooling is another entry
    finally:
        handle.remove()


def test_minilm_bad_input(minilm):
    model, tok = minilm
    with pytest.raises(ValueError, match=r"sentences\[0\].*truncated at max_length=4"):
        hf.extract_text(model, ["one two three four five six"], tokenizer=tok, max_length=4, device="cpu")
    with pytest.raises(ValueError, match="tokenizer is required"):
        hf.extract_text(model, SENTENCES, device="cpu")
    with pytest.raises(TypeError, match="not a single string"):
        hf.extract_text(model, "The cat", tokenizer=tok, device="cpu")
    with pytest.raises(ValueError, match="duplicates"):
        hf.extract_text(model, SENTENCES, tokenizer=tok, stimulus_id=[1, 1, 2], device="cpu")
    with pytest.raises(ValueError, match=r"sentences\[1\] is empty"):
        hf.extract_text(model, ["a", "  "], tokenizer=tok, device="cpu")
    with pytest.raises(ValueError, match="Unknown layer"):
        hf.extract_text(model, SENTENCES, tokenizer=tok, layers=["encoder.layer.6"], device="cpu")
    with pytest.raises(ValueError, match="Invalid value for pool"):
        hf.extract_text(model, SENTENCES, tokenizer=tok, pool="tokens", device="cpu")


# ------------------------- GPT-2 and Llama architectures (tiny, random; fixtures in tests/conftest.py)
@pytest.mark.parametrize(
    "arch, blocks, mlp",
    [
        ("gpt2", ["wte", "h.0", "h.1"], ["h.0.mlp.c_proj:input", "h.1.mlp.c_proj:input"]),
        (
            "llama",
            ["embed_tokens", "layers.0", "layers.1"],
            ["layers.0.mlp.down_proj:input", "layers.1.mlp.down_proj:input"],
        ),
    ],
)
def test_causal_architectures(bpe_tokenizer, tiny_causal_lm, arch, blocks, mlp):
    model = tiny_causal_lm(arch)
    assert hf.transformer_layers(model) == blocks
    assert hf.mlp_layers(model) == mlp
    texts = ["the cat sat", "unbelievable dogs bark loudly"]
    acts = hf.extract_text(model, texts, tokenizer=bpe_tokenizer, layers=blocks[1:] + mlp, device="cpu")
    assert acts["word"].values.tolist() == ["the", "cat", "sat", "unbelievable", "dogs", "bark", "loudly"]
    # Word rows equal the mean of the word's tokens in the model's own hidden states.
    enc = bpe_tokenizer(texts[1:], return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc, output_hidden_states=True).hidden_states[1][0]
    offsets = bpe_tokenizer(texts[1:], return_offsets_mapping=True)["offset_mapping"][0]
    word0 = [t for t, (s, e) in enumerate(offsets) if e <= len("unbelievable")]
    got = acts.sel(unit=acts.layer == blocks[1]).values[3]
    np.testing.assert_allclose(got, hidden[word0].mean(0).numpy(), rtol=1e-4, atol=1e-5)


def test_llama_mlp_neurons_are_gate_times_up(bpe_tokenizer, tiny_causal_lm):
    model = tiny_causal_lm("llama")
    acts = hf.extract_text(
        model,
        ["the cat sat on the mat"],
        tokenizer=bpe_tokenizer,
        pool="last",
        layers=["layers.0.post_attention_layernorm", "layers.0.mlp.down_proj:input"],
        device="cpu",
    )
    x = torch.from_numpy(acts.sel(unit=acts.layer == "layers.0.post_attention_layernorm").values)
    mlp = model.layers[0].mlp
    with torch.no_grad():
        neurons = mlp.act_fn(mlp.gate_proj(x)) * mlp.up_proj(x)
    np.testing.assert_allclose(
        acts.sel(unit=acts.layer == "layers.0.mlp.down_proj:input").values, neurons.numpy(), rtol=1e-4, atol=1e-6
    )


def test_minilm_token_features_match_transformers_hidden_states(minilm):
    model, tok = minilm
    acts = hf.extract_text(model, SENTENCES, tokenizer=tok, pool="token", device="cpu", batch_size=2)
    hidden, enc, _ = _reference_hidden_states(model, tok, SENTENCES)
    mask = enc["attention_mask"].bool().numpy()
    assert acts.dims == ("presentation", "token", "unit") and acts.sizes["token"] == mask.shape[1]
    np.testing.assert_array_equal(acts["token_mask"].values, mask)  # padded across batches to the longest text
    assert data.validate(acts, "activations") == "activations"
    for k, layer in enumerate(data.layer_names(acts)):
        values = acts.sel(unit=acts.layer == layer).values
        assert values.shape[2] == 384
        np.testing.assert_allclose(values[mask], hidden[k].numpy()[mask], rtol=1e-4, atol=1e-5)
        assert not values[~mask].any()  # zeros on padding
