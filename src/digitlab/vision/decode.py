"""Stage 1: any image input → a grayscale float array at a working resolution.

Usage:

    page = decode_image("photo.jpg")            # or bytes, a file object, a PIL image, a numpy array
    page.gray                                   # float32 (H, W) in [0, 1], 1 = white
    page.scale                                  # original pixels per working pixel (for boxes)

What it does, in order:

- refuses missing paths, 0-byte files, non-images, damaged files and images with
  more pixels than `max_pixels` (decompression bombs) with an ImageError whose
  message is one sentence; the pixel count is checked from the header, before
  any pixel is decoded;
- turns the image upright from its EXIF orientation (phone photos);
- composites transparency on white, because a transparent background (a canvas
  drawing, a PNG with alpha) is paper;
- converts to grayscale (ITU-R 601 luma; 16-bit and float images are stretched
  to their own range);
- brings the image to a working size: large photos are decoded at a reduced
  scale (JPEG "draft" mode, much faster than a full decode) and reduced so the
  longer side is at most WORK_MAX_SIDE; tiny images (an 8×8 icon) are enlarged
  with bilinear interpolation so later stages have room for their filters.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digitlab.vision.errors import ImageError, PixelsError

DEFAULT_MAX_PIXELS = 40_000_000
# The formats Pillow may open (JPEG includes a phone's MPO, a JPEG with a second picture inside).
# Every other decoder Pillow has (EPS through Ghostscript, PSD, DDS, the old IM, SGI, PPM, ...)
# stays off: a file from a user is untrusted, and each decoder left on is code its bytes can reach.
# Pillow's common formats first: Pillow.open goes through the list in order and, at the first format
# whose plugin is not loaded yet, loads every plugin it has, which `digitlab predict one.jpg` in the
# lean install felt (benchmarks/install.py). With Image.preinit() (these four) a photo or a PNG never
# gets that far; a TIFF or a WebP still opens.
ACCEPTED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP")
# Digits in a photo stay 30+ px tall at this size unless they are tiny in the frame,
# and a phone photo is preprocessed in well under 50 ms.
WORK_MAX_SIDE = 800
# A large JPEG is decoded at the smallest 1/2, 1/4 or 1/8 scale that keeps its
# longer side at least this long (a 4 MP photo at 1/4: 576 px), then reduced to WORK_MAX_SIDE.
DRAFT_MIN_SIDE = 540
# Enough room for a 3×3 median and a closing window on an enlarged 8×8 image.
WORK_MIN_SIDE = 96
# EXIF orientations that swap width and height.
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)


@dataclass
class DecodedImage:
    """The grayscale working image and how it maps back to the original pixels."""

    gray: np.ndarray  # float32 (H, W), 0 = black, 1 = white
    original_size: tuple[int, int]  # (width, height) of the upright original
    scale: float  # original pixels per working pixel
    source_mode: str  # the PIL mode it was decoded from, e.g. "RGBA"


def describe(source) -> str:
    """A short name for an input, for error messages."""
    if isinstance(source, (str, Path)):
        return str(source)
    return "the image"


def _open(source, max_pixels: int) -> Image.Image:
    """Open (not yet decode) an image from a path, bytes, file object or PIL image."""
    name = describe(source)
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{name} does not exist.", "missing")
        if path.is_dir():
            raise ImageError(f"{name} is a folder, not an image file.", "not_image")
        if path.stat().st_size == 0:
            raise ImageError(f"{name} is empty (0 bytes).", "empty")
        opener = path
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageError("the image is empty (0 bytes).", "empty")
        opener = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        data = source.read()
        if not data:
            raise ImageError("the image is empty (0 bytes).", "empty")
        opener = io.BytesIO(data)
    else:
        raise TypeError(f"cannot read an image from {type(source).__name__}; pass a path, bytes, PIL image or array")
    try:
        with warnings.catch_warnings():
            # We apply our own pixel limit below; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            Image.preinit()  # the common plugins (see ACCEPTED_FORMATS); once per process
            image = Image.open(opener, formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError:
        raise ImageError(f"{name} has too many pixels to be read safely (limit {max_pixels:,}).", "too_large") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image file Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP).",
                         "not_image") from None
    except Exception as error:  # noqa: BLE001 - Pillow's decoders raise OSError, ValueError, NotImplementedError, ...
        raise ImageError(f"{name} is damaged and cannot be opened ({_reason(error)}).", "corrupt") from None
    return image


def _reason(error: Exception) -> str:
    """A decoder's message, short and without a final period, for "... cannot be decoded: <reason>."."""
    return (str(error).strip().splitlines() or [""])[0][:200].rstrip(".") or type(error).__name__


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright) of a loaded image."""
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # A broken EXIF block must not stop us from reading the pixels.
        return 1


def _to_gray(image: Image.Image) -> np.ndarray:
    """Any PIL mode → float32 luma in [0, 1], transparency composited on white paper."""
    mode = image.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        return (values - low) / (high - low) if high > low else np.ones_like(values)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    if image.mode != "L":
        # RGBA → L weighs R, G, B exactly as RGB → L does (the composite is opaque): one pass, not two.
        direct = image.mode in ("RGB", "RGBA", "1")
        image = image.convert("L") if direct else image.convert("RGB").convert("L")
    return np.divide(np.asarray(image), np.float32(255.0), dtype=np.float32)


def _resize_gray(gray: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    return np.array(Image.fromarray(gray, mode="F").resize(size, resample), dtype=np.float32)


def _to_working_size(gray: np.ndarray, min_side: int = WORK_MIN_SIDE,
                     max_side: int = WORK_MAX_SIDE) -> tuple[np.ndarray, float]:
    """Shrink large images, enlarge tiny ones; return the image and the factor applied."""
    height, width = gray.shape
    longer = max(height, width)
    if longer > max_side:
        factor = max_side / longer
    elif longer < min_side:
        factor = float(int(np.ceil(min_side / longer)))
    else:
        return gray, 1.0
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    # BOX averaging is the right anti-aliasing to shrink; bilinear keeps tiny images smooth.
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BILINEAR
    resized = _resize_gray(gray, size, resample)
    return np.clip(resized, 0.0, 1.0, out=resized), width / size[0]


def at_working_size(decoded: DecodedImage, min_side: int = WORK_MIN_SIDE,
                    max_side: int = WORK_MAX_SIDE) -> DecodedImage:
    """The decoded image brought to a longer side in [min_side, max_side] (the same object if it is already)."""
    gray, factor = _to_working_size(decoded.gray, min_side, max_side)
    if factor == 1.0:
        return decoded
    return DecodedImage(gray, decoded.original_size, decoded.scale * factor, decoded.source_mode)


def _array_to_gray(array: np.ndarray, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str]:
    """A numpy image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) of any real dtype → luma in [0, 1].

    Values in [0, 1] are kept, 0..255 are divided by 255, larger ones by their
    maximum; negative values are clipped to black. NaN and infinities, complex
    numbers, objects, empty arrays and other shapes are a PixelsError.
    """
    values = np.asarray(array)
    if values.dtype.kind not in "biuf" or values.ndim not in (2, 3) or values.size == 0:
        raise PixelsError(f"an image array must be (H, W) or (H, W, 1|3|4) real numbers, got shape "
                          f"{values.shape} of {values.dtype}.")
    if values.ndim == 3 and values.shape[2] not in (1, 3, 4):
        raise PixelsError(f"an image array needs 1, 3 or 4 channels, got {values.shape[2]}.")
    pixels = values.shape[0] * values.shape[1]
    if pixels > max_pixels:  # before any copy is made
        raise ImageError(f"the image has {pixels:,} pixels, more than the limit of {max_pixels:,}.", "too_large")
    # float64 for wide types, so a huge float64 value is scaled rather than overflowing float32.
    values = values.astype(np.float64 if values.dtype.itemsize > 4 else np.float32)
    if not np.all(np.isfinite(values)):
        raise PixelsError("the image array contains NaN or infinite values.")
    # uint8-range values are scaled by 255; values already in [0, 1] are kept.
    if values.max() > 1.0:
        values = values / 255.0 if values.max() <= 255.0 else values / values.max()
    values = np.clip(values, 0.0, 1.0).astype(np.float32)
    if values.ndim == 2:
        return values, "L"
    if values.shape[2] == 1:
        return values[:, :, 0], "L"
    luma = values[:, :, 0] * 0.299 + values[:, :, 1] * 0.587 + values[:, :, 2] * 0.114
    if values.shape[2] == 4:
        alpha = values[:, :, 3]
        return (luma * alpha + (1.0 - alpha)).astype(np.float32), "RGBA"
    return luma.astype(np.float32), "RGB"


def decode_image(source, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Read an image (path, bytes, file object, PIL image or numpy array) as a working-size grayscale page."""
    return at_working_size(decode_full_size(source, max_pixels))


def decode_full_size(source, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """decode_image before the working-size step (a large JPEG is still decoded at a reduced scale)."""
    if isinstance(source, np.ndarray):
        gray, mode = _array_to_gray(source, max_pixels)
        return DecodedImage(gray, (gray.shape[1], gray.shape[0]), 1.0, mode)
    with warnings.catch_warnings():
        # Pillow warns about damaged metadata (a TIFF tag past the end, corrupt EXIF) and reads on; so
        # does the reader, and a warning line per such file would only be noise on stderr.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL(\.|$)")
        return _decode_file(source, max_pixels)


def _decode_file(source, max_pixels: int) -> DecodedImage:
    name = describe(source)
    image = _open(source, max_pixels)
    # From the header: nothing is decoded before the pixel limit is checked (a
    # 100 KB PNG can hold 100 million pixels). The EXIF orientation, which can only
    # swap width and height, is read after decoding: a PNG's may follow its pixels.
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(f"{name} has {width * height:,} pixels, more than the limit of {max_pixels:,}.",
                         "too_large")
    if width == 0 or height == 0:
        raise ImageError(f"{name} has no pixels.", "empty")
    source_mode = image.mode
    try:
        if image.format == "JPEG" and max(width, height) > WORK_MAX_SIDE:
            # Decode at 1/2, 1/4 or 1/8 scale directly (a 12 MP photo in a few milliseconds),
            # keeping the longer side at least DRAFT_MIN_SIDE.
            shrink = DRAFT_MIN_SIDE / max(width, height)
            image.draft("L", (max(1, int(width * shrink)), max(1, int(height * shrink))))
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # An animated GIF/WebP: read its first frame.
        image.load()
        orientation = _orientation(image)
        if orientation != 1:  # Most images are upright: no copy for them.
            image = ImageOps.exif_transpose(image)
            if orientation in _TRANSPOSING_ORIENTATIONS:
                width, height = height, width
        gray = _to_gray(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, MemoryError):
        raise ImageError(f"{name} has too many pixels to be read safely (limit {max_pixels:,}).", "too_large") from None
    except Exception as error:  # noqa: BLE001 - a damaged file makes Pillow's decoders raise almost any type
        raise ImageError(f"{name} is damaged or truncated and cannot be decoded: {_reason(error)}.",
                         "corrupt") from None
    return DecodedImage(gray, (width, height), width / gray.shape[1], source_mode)
