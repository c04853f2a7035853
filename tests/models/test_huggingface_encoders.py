"""Image and audio encoders against the models' own ``output_hidden_states`` (tiny random models, offline)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from brainalign import data  # noqa: E402
from brainalign.models import huggingface as hf  # noqa: E402

TOL = {"rtol": 1e-4, "atol": 1e-4}  # float32 forward passes, batched vs unbatched


def _vision(kind):
    torch.manual_seed(0)
    common = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": 32, "patch_size": 8}
    if kind == "vit":
        return transformers.ViTModel(transformers.ViTConfig(intermediate_size=37, **common))
    if kind == "clip":
        return transformers.CLIPVisionModel(transformers.CLIPVisionConfig(intermediate_size=37, **common))
    return transformers.Dinov2Model(transformers.Dinov2Config(mlp_ratio=2, **common))


def _wav2vec2():
    torch.manual_seed(0)
    cfg = transformers.Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(16, 16, 16),
        conv_stride=(5, 2, 2),
        conv_kernel=(10, 3, 3),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    return transformers.Wav2Vec2Model(cfg)


def _whisper_encoder():
    torch.manual_seed(0)
    cfg = transformers.WhisperConfig(
        d_model=32,
        encoder_layers=2,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=37,
        decoder_ffn_dim=37,
        num_mel_bins=8,
        max_source_positions=16,
        max_target_positions=16,
        vocab_size=60,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=3,
    )
    return transformers.WhisperModel(cfg).get_encoder()


def _hidden(model, **inputs):
    model.eval()
    with torch.no_grad():
        return [h.numpy() for h in model(**inputs, output_hidden_states=True).hidden_states]


def _layer(acts, name):
    return acts.sel(unit=acts.layer == name).values


@pytest.mark.parametrize("kind", ["vit", "clip", "dino"])
def test_images_equal_hidden_states_cls_mean_and_tokens(kind):
    model = _vision(kind)
    pixels = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ref = _hidden(model, pixel_values=pixels)
    layers = hf.encoder_layers(model)
    assert len(layers) == len(ref) == 3 and layers[0].endswith(".0:input")
    cls = hf.extract_images(model, pixels, pool="cls", batch_size=2, device="cpu", stimulus_id=list("abcde"))
    mean = hf.extract_images(model, pixels, pool="mean", batch_size=3, device="cpu")
    tokens = hf.extract_images(model, pixels, pool=None, batch_size=5, device="cpu")
    assert data.validate(cls) == "activations" and data.layer_names(cls) == layers
    assert tokens.dims == ("presentation", "token", "unit") and tokens.sizes["token"] == 17
    assert bool(tokens["token_mask"].all())
    for k, layer in enumerate(layers):  # hidden_states[0] = first block's input, [k] = output of block k-1
        np.testing.assert_allclose(_layer(cls, layer), ref[k][:, 0], **TOL)
        np.testing.assert_allclose(_layer(mean, layer), ref[k][:, 1:].mean(axis=1), **TOL)  # 16 patches, CLS out
        np.testing.assert_allclose(tokens.sel(unit=tokens.layer == layer).values, ref[k], **TOL)
    assert cls["stimulus_id"].values.tolist() == list("abcde")


def test_images_through_a_processor_equal_the_processed_pixels():
    model = _vision("vit")
    processor = transformers.ViTImageProcessor(size={"height": 32, "width": 32})
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (40, 48, 3), dtype=np.uint8) for _ in range(3)]
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]
    via = hf.extract_images(model, images, processor=processor, pool="mean", device="cpu", batch_size=2)
    direct = hf.extract_images(model, pixels, pool="mean", device="cpu")
    np.testing.assert_allclose(via.values, direct.values, **TOL)


def test_images_cache_and_errors(tmp_path):
    model = _vision("dino")
    pixels = torch.randn(3, 3, 32, 32)
    first = hf.extract_images(model, pixels, pool=None, device="cpu", cache=tmp_path)
    again = hf.extract_images(model, pixels, pool=None, device="cpu", cache=tmp_path)
    np.testing.assert_array_equal(first.values, again.values)
    assert again.sizes["token"] == 17
    with pytest.raises(ValueError, match="pool"):
        hf.extract_images(model, pixels, pool="max", device="cpu")
    with pytest.raises(ValueError, match="float pixels"):
        hf.extract_images(model, np.zeros((3, 32, 32, 3), dtype=np.uint8), device="cpu")
    with pytest.raises(ValueError, match="batch, tokens, features"):
        hf.extract_images(model, pixels, layers=["embeddings.patch_embeddings.projection"], device="cpu")


def test_wav2vec2_frames_equal_hidden_states():
    model = _wav2vec2()
    waves = np.random.default_rng(2).standard_normal((4, 1600)).astype(np.float32)
    ref = _hidden(model, input_values=torch.from_numpy(waves))
    mean = hf.extract_audio(model, waves, 16000, batch_size=3, device="cpu")
    frames = hf.extract_audio(model, list(waves), 16000, pool=None, device="cpu")
    layers = hf.encoder_layers(model)
    assert layers == ["encoder.layers.0:input", "encoder.layers.0", "encoder.layers.1"]
    assert data.validate(mean) == "activations" and mean.attrs["sampling_rate"] == 16000
    for k, layer in enumerate(layers):
        np.testing.assert_allclose(_layer(mean, layer), ref[k].mean(axis=1), **TOL)
        np.testing.assert_allclose(frames.sel(unit=frames.layer == layer).values, ref[k], **TOL)
    fe = transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, do_normalize=True)
    normed = hf.extract_audio(model, waves, 16000, feature_extractor=fe, device="cpu")
    ref = _hidden(model, input_values=fe(list(waves), sampling_rate=16000, return_tensors="pt")["input_values"])
    np.testing.assert_allclose(_layer(normed, layers[-1]), ref[-1].mean(axis=1), **TOL)


def test_whisper_encoder_through_its_feature_extractor():
    model = _whisper_encoder()
    fe = transformers.WhisperFeatureExtractor(
        feature_size=8, sampling_rate=3200, hop_length=100, chunk_length=1, n_fft=200
    )  # a 1 s window of 32 frames = 2 × max_source_positions
    waves = np.random.default_rng(3).standard_normal((3, 2000)).astype(np.float32)
    ref = _hidden(model, input_features=fe(list(waves), sampling_rate=3200, return_tensors="pt")["input_features"])
    acts = hf.extract_audio(model, waves, 3200, feature_extractor=fe, batch_size=2, device="cpu")
    layers = hf.encoder_layers(model)
    assert layers == ["layers.0:input", "layers.0", "layers.1"]
    for k, layer in enumerate(layers[:-1]):
        np.testing.assert_allclose(_layer(acts, layer), ref[k].mean(axis=1), **TOL)
    # Whisper's last hidden state is the last block's output after the encoder's final layer_norm.
    frames = hf.extract_audio(model, waves, 3200, feature_extractor=fe, pool=None, layers=["layers.1"], device="cpu")
    with torch.no_grad():
        normed = model.layer_norm(torch.from_numpy(frames.values)).numpy()
    np.testing.assert_allclose(normed, ref[2], **TOL)
    with pytest.raises(ValueError, match="feature_extractor"):
        hf.extract_audio(model, waves, 3200, device="cpu")


def test_audio_refuses_bad_waveforms():
    model = _wav2vec2()
    with pytest.raises(ValueError, match="one length"):
        hf.extract_audio(model, [np.zeros(1600), np.zeros(1200)], 16000, device="cpu")
    with pytest.raises(ValueError, match="NaN"):
        hf.extract_audio(model, np.full((2, 1600), np.nan), 16000, device="cpu")
    with pytest.raises(ValueError, match="sampling_rate"):
        hf.extract_audio(model, np.zeros((2, 1600)), 0, device="cpu")
    with pytest.raises(ValueError, match="pool"):
        hf.extract_audio(model, np.zeros((2, 1600)), 16000, pool="cls", device="cpu")
