// pad.js: the drawing pad's painting, and reading ONE drawn digit in the browser.
// An ES module, plain JavaScript, no dependencies, no build step.
//
//   paintStrokes(context, strokes, width, height, color)   // the whole drawing
//   paintStroke(context, stroke, width, height, from)       // a stroke, from its point `from` on
//   preparePad(rgba, width, height, params)                 // getImageData's pixels → what the server reads
//
// preparePad is the project's one second implementation of the preprocessing: the canvas path of
// digitlab.vision.analyze (pipeline.py) for a drawing that holds a single digit. It answers
//   {kind: "digit", input: Float32Array(784), box: [x0, y0, x1, y1]}  = analysis.digits[0].model_input, .box
//   {kind: "blank", note}                                            = no digit, note = analysis.note
//   {kind: "server", reason}                                         anything not reproduced exactly here
// Every threshold and size comes from `params` (digitlab.vision.browser.pad_parameters()). The
// arithmetic follows NumPy, SciPy and Pillow step by step (float32 where Python works in float32,
// the same summation orders), and tests/test_pad_parity.py holds it to the Python in Chromium.
"use strict";

// ---------- painting (app.js paints the pad and the exported PNG with these) ----------

export function paintStrokes(context, strokes, width, height, color) {
  context.clearRect(0, 0, width, height);
  context.strokeStyle = color;
  context.fillStyle = color;
  context.lineCap = "round";
  context.lineJoin = "round";
  for (const stroke of strokes) paintStroke(context, stroke, width, height);
}

// Points are [x, y] in 0..1 of the pad; a 1-point stroke is a dot. `from`: only the newest points.
export function paintStroke(context, stroke, width, height, from = 0) {
  const points = stroke.points;
  context.lineWidth = stroke.width * width;
  if (points.length === 1) {
    context.beginPath();
    context.arc(points[0][0] * width, points[0][1] * height, context.lineWidth / 2, 0, Math.PI * 2);
    context.fill();
    return;
  }
  context.beginPath();
  const start = Math.max(from - 1, 0);
  context.moveTo(points[start][0] * width, points[start][1] * height);
  for (let index = start + 1; index < points.length; index += 1) {
    context.lineTo(points[index][0] * width, points[index][1] * height);
  }
  context.stroke();
}

// ---------- images and numbers as NumPy keeps them ----------

const f32 = Math.fround; // a float32 operation = the float64 one rounded (exact for + - × ÷ √)
const image = (w, h, data = new Float32Array(w * h)) => ({ w, h, data });
const handOff = (reason) => ({ kind: "server", reason });

// Python's round(): halves go to the even neighbour.
function roundHalfEven(value) {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

// The 3×3 neighbourhood of (x, y), cut at the image's edges, folded with `pick` (Math.min / Math.max).
function around(img, x, y, pick) {
  let result = img.data[y * img.w + x];
  for (let ny = Math.max(0, y - 1); ny <= Math.min(img.h - 1, y + 1); ny += 1) {
    for (let nx = Math.max(0, x - 1); nx <= Math.min(img.w - 1, x + 1); nx += 1) {
      result = pick(result, img.data[ny * img.w + nx]);
    }
  }
  return result;
}

// [x0, y0, x1, y1] (exclusive ends) around the pixels where test(value) holds; null when none does.
function boxWhere(img, test) {
  let [x0, y0, x1, y1] = [img.w, img.h, 0, 0];
  for (let y = 0; y < img.h; y += 1) {
    for (let x = 0; x < img.w; x += 1) {
      if (!test(img.data[y * img.w + x])) continue;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), y + 1];
    }
  }
  return x1 ? [x0, y0, x1, y1] : null;
}

function crop(img, [x0, y0, x1, y1]) {
  const out = image(x1 - x0, y1 - y0, new img.data.constructor((x1 - x0) * (y1 - y0)));
  for (let y = y0; y < y1; y += 1) out.data.set(img.data.subarray(y * img.w + x0, y * img.w + x1), (y - y0) * out.w);
  return out;
}

// The image's outer bands, `rows` and `cols` thick, as np.concatenate joins them (corners twice).
function border(img, rows, cols) {
  const boxes = [[0, 0, img.w, rows], [0, img.h - rows, img.w, img.h], [0, 0, cols, img.h], [img.w - cols, 0, img.w, img.h]];
  const bands = boxes.map((box) => crop(img, box).data);
  const out = new Float32Array(bands.reduce((n, band) => n + band.length, 0));
  bands.reduce((at, band) => (out.set(band, at), at + band.length), 0);
  return out;
}

// NumPy's pairwise summation (loops_utils.h.src), which ndarray.sum() runs over a whole contiguous
// array: 8 accumulators up to 128 values, halves beyond. `round` = f32 for a float32 array.
function pairwiseSum(values, round = (x) => x, start = 0, count = values.length) {
  if (count < 8) {
    let sum = -0;
    for (let i = start; i < start + count; i += 1) sum = round(sum + values[i]);
    return sum;
  }
  if (count <= 128) {
    const r = Array.from(values.subarray(start, start + 8));
    let i = 8;
    for (; i < count - (count % 8); i += 8) for (let j = 0; j < 8; j += 1) r[j] = round(r[j] + values[start + i + j]);
    let sum = round(round(round(r[0] + r[1]) + round(r[2] + r[3])) + round(round(r[4] + r[5]) + round(r[6] + r[7])));
    for (; i < count; i += 1) sum = round(sum + values[start + i]);
    return sum;
  }
  const half = Math.floor(count / 2) - (Math.floor(count / 2) % 8);
  return round(pairwiseSum(values, round, start, half) + pairwiseSum(values, round, start + half, count - half));
}

// The float64 array f(value, x, y) over an image (a NumPy broadcast expression), summed pairwise.
function sumOver(img, f) {
  const values = new Float64Array(img.w * img.h);
  for (let i = 0; i < values.length; i += 1) values[i] = f(img.data[i], i % img.w, Math.floor(i / img.w));
  return pairwiseSum(values);
}

// np.median of a sorted typed array: the middle value, or the mean of the middle two in its type.
function median(sorted, round = (x) => x) {
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : round(round(sorted[middle - 1] + sorted[middle]) / 2);
}

// ---------- decode.py, canvas.py, preprocess.py: pixels → ink ----------

// decode._to_gray: Pillow's alpha_composite on white paper (AlphaComposite.c: 7 extra bits, rounded
// divisions by 255), convert("L") (Convert.c: ITU-R 601 in 16-bit fixed point), / 255 in float32.
function toGray(rgba, width, height) {
  const gray = image(width, height);
  for (let i = 0; i < width * height; i += 1) {
    const alpha = rgba[4 * i + 3];
    const coef1 = Math.floor((alpha * 255 * 255 * 128) / (alpha * 255 + 255 * (255 - alpha)));
    const paper = 255 * (255 * 128 - coef1) + (0x80 << 7);
    const over = (value) => (alpha === 0 ? 255 : ((((value * coef1 + paper) >> 8) + value * coef1 + paper) >> 8) >> 7);
    const luma = over(rgba[4 * i]) * 19595 + over(rgba[4 * i + 1]) * 38470 + over(rgba[4 * i + 2]) * 7471 + 0x8000;
    gray.data[i] = (luma >> 16) / 255;
  }
  return gray;
}

// canvas.even_canvas_tone: the tone when the 1-pixel frame and most of the image are one tone, else null.
function evenCanvasTone(gray, p) {
  const { w, h, data } = gray;
  if (Math.max(w, h) < p.work_min_side || Math.min(w, h) < 3) return null;
  const frame = border(gray, 1, 1);
  const [low, high] = [frame.reduce((a, b) => Math.min(a, b)), frame.reduce((a, b) => Math.max(a, b))];
  if (high - low > p.even_tolerance) return null;
  const tone = (low + high) / 2;
  // NumPy compares a float32 array with a Python float in float32.
  const [tone32, tolerance32, brighter32] = [f32(tone), f32(p.even_tolerance), f32(high + p.even_tolerance)];
  let [onCanvas, brighter] = [0, 0];
  for (const value of data) {
    onCanvas += Math.abs(f32(value - tone32)) <= tolerance32;
    brighter += value > brighter32;
  }
  if (onCanvas < p.min_canvas_fraction * data.length) return null;
  return brighter < p.min_sheet_fraction * data.length ? tone : null;
}

// preprocess.has_dark_ink when _clear_polarity's bounds decide; null when it would smooth the image.
function hasDarkInk(gray, p) {
  const { w, h, data } = gray;
  if (Math.min(w, h) >= p.polarity_half_resolution_side) return null;
  const [my, mx] = [h, w].map((side) => Math.max(1, Math.floor(side / p.polarity_frame_divisor)));
  const paper = median(border(gray, my, mx).sort(), f32);
  let [lowAt, highAt] = [0, 0];
  for (let i = 1; i < data.length; i += 1) {
    if (data[i] < data[lowAt]) lowAt = i;
    if (data[i] > data[highAt]) highAt = i;
  }
  // The smoothed extremes lie between the raw ones and the 3×3 windows around them.
  const darkReachLow = paper - around(gray, lowAt % w, Math.floor(lowAt / w), Math.max);
  const darkReachHigh = paper - data[lowAt];
  const lightReachLow = around(gray, highAt % w, Math.floor(highAt / w), Math.min) - paper;
  const lightReachHigh = data[highAt] - paper;
  if (lightReachHigh + p.polarity_margin <= p.light_ink_margin * darkReachLow + p.min_ink_contrast / 2) return true;
  if (lightReachLow - p.polarity_margin > p.light_ink_margin * darkReachHigh + p.min_ink_contrast / 2) return false;
  return null;
}

// preprocess.ink_against: 1 - paper / background, clipped, in float32.
function inkAgainst(gray, background, p) {
  const level = Math.max(f32(background), f32(p.min_background));
  return image(gray.w, gray.h, gray.data.map((value) => 1 - Math.min(Math.max(f32(value / level), 0), 1)));
}

// ---------- threshold.py: ink → mask ----------

// ndimage.uniform_filter(mode="nearest"): along axis 0, then axis 1, each a running sum in float64
// (ni_filters.c: the first window summed, then + incoming − outgoing) stored as float32.
function uniformFilter(img, size) {
  const pass = (source, length, lines, at) => {
    const out = new Float32Array(source.length);
    const line = new Float64Array(length + size - 1);
    for (let l = 0; l < lines; l += 1) {
      for (let i = 0; i < line.length; i += 1) {
        line[i] = source[at(l, Math.min(Math.max(i - Math.floor(size / 2), 0), length - 1))]; // edges repeated
      }
      let sum = 0;
      for (let i = 0; i < size; i += 1) sum += line[i];
      out[at(l, 0)] = sum / size;
      for (let i = 1; i < length; i += 1) out[at(l, i)] = (sum += line[i + size - 1] - line[i - 1]) / size;
    }
    return out;
  };
  const down = pass(img.data, img.h, img.w, (x, y) => y * img.w + x);
  return image(img.w, img.h, pass(down, img.w, img.h, (y, x) => y * img.w + x));
}

// threshold._otsu_from_histogram: the bin edge that maximizes the between-class variance
// (cumulative sums in order; bin centres (2i + 1) / 2·bins are exact in float64).
function otsuThreshold(histogram) {
  const bins = histogram.length;
  const centre = (i) => (2 * i + 1) / (2 * bins);
  const [total, totalSum] = histogram.reduce(([n, s], count, i) => [n + count, s + count * centre(i)], [0, 0]);
  let [weightLow, sumLow, best, bestAt] = [0, 0, -Infinity, 0];
  histogram.forEach((count, i) => {
    [weightLow, sumLow] = [weightLow + count, sumLow + count * centre(i)];
    const meanLow = sumLow / Math.max(weightLow, 1e-12);
    const meanHigh = (totalSum - sumLow) / Math.max(total - weightLow, 1e-12);
    const between = weightLow * (total - weightLow) * ((meanLow - meanHigh) * (meanLow - meanHigh));
    if (between > best) [best, bestAt] = [between, i];
  });
  return (bestAt + 1) / bins;
}

// threshold.binarize_box: the 3×3 mean above Otsu's threshold (never below MIN_INK_CONTRAST),
// computed in the box around the nonzero ink; the paper beyond it counts in the lowest bin.
function binarizeBox(ink, p) {
  const box = boxWhere(ink, (value) => value !== 0);
  if (!box) return null;
  const [x0, y0, x1, y1] = box;
  const [left, top] = [Math.max(0, x0 - p.box_margin), Math.max(0, y0 - p.box_margin)];
  const [right, bottom] = [Math.min(ink.w, x1 + p.box_margin), Math.min(ink.h, y1 + p.box_margin)];
  const smooth = uniformFilter(crop(ink, [left, top, right, bottom]), p.blur_size);
  // threshold._histogram: value × bins in float32, clipped, truncated.
  const histogram = new Float64Array(p.otsu_bins);
  for (const value of smooth.data) {
    histogram[Math.trunc(Math.min(Math.max(f32(value * p.otsu_bins), 0), p.otsu_bins - 1))] += 1;
  }
  histogram[0] += ink.data.length - smooth.data.length;
  const threshold = f32(Math.max(otsuThreshold(histogram), p.min_ink_contrast));
  return { ...image(smooth.w, smooth.h, smooth.data.map((value) => (value > threshold ? 1 : 0))), left, top };
}

// ---------- segment.py: the mask → the one digit ----------

// ndimage.label, 8-connected: labels numbered in the order their first pixel comes row by row.
function labelPieces(mask) {
  const { w, h, data } = mask;
  const labels = new Int32Array(w * h);
  const pieces = [];
  for (let start = 0; start < w * h; start += 1) {
    if (!data[start] || labels[start]) continue;
    const piece = { labels: [pieces.length + 1], x0: w, y0: h, x1: 0, y1: 0, area: 0 };
    pieces.push(piece);
    labels[start] = piece.labels[0];
    for (const stack = [start]; stack.length;) {
      const at = stack.pop();
      const [x, y] = [at % w, Math.floor(at / w)];
      Object.assign(piece, { x0: Math.min(piece.x0, x), y0: Math.min(piece.y0, y), x1: Math.max(piece.x1, x + 1),
        y1: Math.max(piece.y1, y + 1), area: piece.area + 1 });
      for (let ny = Math.max(0, y - 1); ny <= Math.min(h - 1, y + 1); ny += 1) {
        for (let nx = Math.max(0, x - 1); nx <= Math.min(w - 1, x + 1); nx += 1) {
          const next = ny * w + nx;
          if (data[next] && !labels[next]) {
            labels[next] = piece.labels[0];
            stack.push(next);
          }
        }
      }
    }
  }
  return { labels, pieces };
}

// segment._belong_together: strongly overlapping in x and close in y.
function belongTogether(a, b, p) {
  const overlapX = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const gapY = Math.max(a.y0, b.y0) - Math.min(a.y1, b.y1);
  return overlapX >= p.merge_x_overlap * Math.min(a.x1 - a.x0, b.x1 - b.x0)
    && gapY <= p.merge_max_gap * Math.max(a.y1 - a.y0, b.y1 - b.y0);
}

// segment.merge_pieces: largest first (a stable sort), the first pair that belongs together merged,
// then the search starts again, until no pair does.
function mergePieces(groups, p) {
  groups = [...groups].sort((a, b) => b.area - a.area);
  const pair = () => {
    for (let i = 0; i < groups.length; i += 1) {
      for (let j = i + 1; j < groups.length; j += 1) if (belongTogether(groups[i], groups[j], p)) return [i, j];
    }
    return null;
  };
  for (let found = pair(); found; found = pair()) {
    const [a, b] = [groups[found[0]], groups.splice(found[1], 1)[0]];
    Object.assign(a, { labels: a.labels.concat(b.labels), x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0),
      x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1), area: a.area + b.area });
  }
  return groups;
}

// segment.segment_digits up to its groups: {region} for one digit, {} for none, {reason} to hand off.
function segmentOne(mask, imagePixels, p) {
  if (mask.data.reduce((a, b) => a + b, 0) / imagePixels > p.max_ink_fraction) return {};
  const { labels, pieces } = labelPieces(mask);
  const largest = pieces.reduce((most, piece) => Math.max(most, piece.area), 0);
  let groups = pieces.filter((piece) => piece.area >= Math.max(p.min_piece_pixels, p.speck_area_fraction * largest));
  if (!groups.length || groups.length > p.max_pieces_per_digit * p.max_digits) return {};
  const tallest = () => groups.reduce((most, g) => Math.max(most, g.y1 - g.y0), 0);
  // Rules and underlines: flat, and longer than the tallest piece is tall.
  const [lineHeight, lineLength] = [p.line_height_fraction * tallest(), p.line_length * tallest()];
  groups = mergePieces(groups.filter((g) => !(g.y1 - g.y0 < lineHeight && g.x1 - g.x0 > lineLength)), p);
  const minHeight = p.min_height_fraction * tallest();
  groups = groups.filter((g) => g.y1 - g.y0 >= minHeight);
  if (groups.length > p.max_digits) return {};
  if (groups.length > 1) return { reason: `segmentation found ${groups.length} pieces of ink, not one digit.` };
  const [{ x0, y0, x1, y1, labels: own }] = groups;
  // split_touching, alone in its line: a group this wide is cut where digits meet (junction.py).
  if (x1 - x0 > p.split_aspect * Math.max(y1 - y0, 1)) return { reason: "the digit is wide enough to be cut in two." };
  const regionMask = crop(image(mask.w, mask.h, labels), [x0, y0, x1, y1]);
  regionMask.data = Uint8Array.from(regionMask.data, (label) => own.includes(label));
  return { region: { box: [x0 + mask.left, y0 + mask.top, x1 + mask.left, y1 + mask.top], mask: regionMask } };
}

// ---------- preprocess.to_mnist and slant.py: one digit → 28×28 ----------

// kernels.squared_distance_to_paper (a mask framed by paper): along each row, then the nearest row.
function squaredDistance(mask) {
  const { w, h, data } = mask;
  const along = new Int32Array(w * h);
  for (let y = 0; y < h; y += 1) {
    for (let x = 0, last = -Infinity; x < w; x += 1) {
      last = data[y * w + x] ? last : x; // the nearest paper on the left…
      along[y * w + x] = x - last;
    }
    for (let x = w - 1, next = Infinity; x >= 0; x -= 1) {
      next = data[y * w + x] ? next : x; // …and on the right
      along[y * w + x] = Math.min(along[y * w + x], next - x) ** 2;
    }
  }
  // A row k away helps only while k² is below the best so far.
  return image(w, h, along.map((best, i) => {
    for (let k = 1, y = Math.floor(i / w); k * k < best; k += 1) {
      best = Math.min(best, y >= k ? along[i - k * w] + k * k : best, y + k < h ? along[i + k * w] + k * k : best);
    }
    return best;
  }));
}

// preprocess.stroke_width: twice the median distance-to-paper on the ridges (3×3 maxima, edges repeated).
function strokeWidth(mask) {
  const padded = image(mask.w + 2, mask.h + 2, new Uint8Array((mask.w + 2) * (mask.h + 2)));
  for (let y = 0; y < mask.h; y += 1) {
    padded.data.set(mask.data.subarray(y * mask.w, (y + 1) * mask.w), (y + 1) * padded.w + 1);
  }
  const squared = squaredDistance(padded);
  const ridge = [];
  squared.data.forEach((value, i) => {
    const peak = around(squared, i % squared.w, Math.floor(i / squared.w), Math.max);
    if (value > 0 && value === peak) ridge.push(Math.sqrt(value));
  });
  return ridge.length ? 2 * median(Float64Array.from(ridge).sort()) : 0;
}

// preprocess._thicken: thin strokes dilated by a disk of the missing half-width (MNIST's ratio).
function thicken(digit, mask, p) {
  const longer = Math.max(digit.w, digit.h);
  const width = strokeWidth(mask);
  if (width <= 0 || width >= p.thin_stroke_ratio * longer) return digit;
  const radius = roundHalfEven((p.target_stroke_ratio * longer - width) / 2);
  if (radius < 1) return digit;
  // ndimage.grey_dilation of the zero-padded digit: each pixel's value spread over the disk around it.
  const out = image(digit.w + 2 * radius, digit.h + 2 * radius);
  digit.data.forEach((value, i) => {
    const [x, y] = [(i % digit.w) + radius, Math.floor(i / digit.w) + radius];
    for (let dy = -radius; value > 0 && dy <= radius; dy += 1) {
      for (let dx = -radius; dx <= radius; dx += 1) {
        const at = (y + dy) * out.w + x + dx;
        if (dy * dy + dx * dx <= radius * radius + radius) out.data[at] = Math.max(out.data[at], value);
      }
    }
  });
  return out;
}

// preprocess._tight: the box around the pixels above visible_ink (the same image when none is).
function tight(digit, p) {
  const box = boxWhere(digit, (value) => value > f32(p.visible_ink));
  return box ? crop(digit, box) : digit;
}

// slant.moment_slant: mu11 / mu02 in float64.
function momentSlant(digit) {
  const total = sumOver(digit, (v) => v);
  if (total <= 0) return 0;
  const [cx, cy] = [sumOver(digit, (v, x) => v * x) / total, sumOver(digit, (v, x, y) => v * y) / total];
  const mu02 = sumOver(digit, (v, x, y) => v * ((y - cy) * (y - cy))) / total;
  return mu02 <= 0 ? 0 : sumOver(digit, (v, x, y) => v * (y - cy) * (x - cx)) / total / mu02;
}

// slant.limit_slant: the excess slope sheared away with Pillow's AFFINE transform, BILINEAR
// (Geometry.c: output pixel centres at +0.5, the two taps clamped at the edges, 0 outside).
function limitSlant(digit, p) {
  const slope = momentSlant(digit);
  const excess = slope - Math.min(Math.max(slope, p.min_slant), p.max_slant);
  if (Math.abs(excess) < p.min_shear) return digit;
  const { w, h, data } = digit;
  // center_y from the row sums (each summed pairwise along its row) times the row numbers.
  const rowSum = (y) => pairwiseSum(Float64Array.from(data.subarray(y * w, (y + 1) * w)));
  const rows = Float64Array.from({ length: h }, (_, y) => rowSum(y) * y);
  const centerY = pairwiseSum(rows) / pairwiseSum(Float64Array.from(data));
  const pad = Math.ceil((Math.abs(excess) * h) / 2) + 1;
  const a = [1.0, excess, -pad - excess * centerY, 0.0, 1.0, 0.0];
  const out = image(w + 2 * pad, h);
  const tap = (x, y) => data[y * w + Math.min(Math.max(x, 0), w - 1)];
  const lerp = (x, y, dx) => tap(x, y) + (tap(x + 1, y) - tap(x, y)) * dx;
  for (let i = 0; i < out.data.length; i += 1) {
    const [xi, yi] = [(i % out.w) + 0.5, Math.floor(i / out.w) + 0.5];
    const [xs, ys] = [a[0] * xi + a[1] * yi + a[2], a[3] * xi + a[4] * yi + a[5]];
    if (xs < 0 || xs >= w || ys < 0 || ys >= h) continue; // stays 0
    const [x, y] = [Math.floor(xs - 0.5), Math.floor(ys - 0.5)];
    const [dx, dy] = [xs - 0.5 - x, ys - 0.5 - y];
    const v1 = lerp(x, Math.min(Math.max(y, 0), h - 1), dx);
    const v2 = y + 1 >= 0 && y + 1 < h ? lerp(x, y + 1, dx) : v1;
    out.data[i] = v1 + (v2 - v1) * dy;
  }
  return out;
}

const BOX = { support: 0.5, at: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) };
const BILINEAR = { support: 1.0, at: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) };

// Pillow's resize of a mode "F" image (Resample.c): per output pixel, normalized filter weights over
// the input pixels around (i + 0.5) · scale, the filter widened by the scale when shrinking; one pass
// per axis summed in float64, stored as float32. Horizontal first, except from Pillow 13 on
// (python-pillow/Pillow#9549) when the height loses more than twice the pixels the width does.
function resize(digit, outW, outH, filter, p) {
  const weights = (inSize, outSize) => Array.from({ length: outSize }, (_, i) => {
    const [scale, filterScale] = [inSize / outSize, Math.max(inSize / outSize, 1)];
    const [center, support] = [(i + 0.5) * scale, filter.support * filterScale];
    const first = Math.max(0, Math.trunc(center - support + 0.5));
    const stop = Math.min(inSize, Math.trunc(center + support + 0.5));
    const taps = Array.from({ length: stop - first }, (_, k) => filter.at((k + first - center + 0.5) * (1.0 / filterScale)));
    const total = taps.reduce((sum, k) => sum + k, 0);
    return { first, taps: total !== 0 ? taps.map((k) => k / total) : taps };
  });
  // One pass: along x, or along y when `down`.
  const pass = (src, size, down) => {
    const out = down ? image(src.w, size) : image(size, src.h);
    const at = (img, line, i) => (down ? i * img.w + line : line * img.w + i);
    weights(down ? src.h : src.w, size).forEach(({ first, taps }, i) => {
      for (let line = 0; line < (down ? src.w : src.h); line += 1) {
        out.data[at(out, line, i)] = taps.reduce((sum, k, j) => sum + src.data[at(src, line, first + j)] * k, 0);
      }
    });
    return out;
  };
  const across = (img) => (outW !== digit.w ? pass(img, outW, false) : img);
  const down = (img) => (outH !== digit.h ? pass(img, outH, true) : img);
  const verticalFirst = p.pillow_vertical_pass_first && outH < digit.h && digit.h - outH > 2 * (digit.w - outW);
  return verticalFirst ? across(down(digit)) : down(across(digit));
}

// kernels.percentile: NumPy's linear method on the two order statistics, its lerp in float32.
function percentile(values, q) {
  const sorted = Float32Array.from(values).sort();
  const position = (sorted.length - 1) * (q / 100);
  const lower = position >= sorted.length - 1 ? sorted.length - 1 : Math.floor(position);
  const [low, high, weight] = [sorted[lower], sorted[Math.min(lower + 1, sorted.length - 1)], position - lower];
  const difference = f32(high - low);
  return weight >= 0.5 ? f32(high - f32(difference * f32(1 - weight))) : f32(low + f32(difference * f32(weight)));
}

// preprocess.to_mnist: contrast stretched, thickened, slant limited, the longer side DIGIT_BOX
// (BOX to shrink, BILINEAR to enlarge), placed by its centre of mass at whole pixels in the FIELD.
function toMnist(ink, mask, p) {
  const field = new Float32Array(p.field * p.field);
  const inked = ink.data.filter((_, i) => mask.data[i]);
  if (!inked.length || !ink.data.some((value) => value > 0)) return field;
  const level = f32(Math.max(percentile(inked, p.ink_level_percentile), p.min_ink_level));
  let digit = image(ink.w, ink.h, ink.data.map((value) => Math.min(Math.max(f32(value / level), 0), 1)));
  digit = tight(limitSlant(tight(thicken(digit, mask, p), p), p), p);
  const scale = p.digit_box / Math.max(digit.h, digit.w);
  const [w, h] = [Math.max(1, roundHalfEven(digit.w * scale)), Math.max(1, roundHalfEven(digit.h * scale))];
  const small = w === digit.w && h === digit.h ? digit : resize(digit, w, h, scale < 1 ? BOX : BILINEAR, p);
  small.data = small.data.map((value) => Math.min(Math.max(value, 0), 1));
  // ndimage.center_of_mass: float64 moments over the float32 total.
  const mass = pairwiseSum(small.data, f32);
  if (mass <= 0) return field;
  const [centerX, centerY] = [sumOver(small, (v, x) => v * x) / mass, sumOver(small, (v, x, y) => v * y) / mass];
  const top = Math.min(Math.max(roundHalfEven(p.field_center - centerY), 0), p.field - h);
  const left = Math.min(Math.max(roundHalfEven(p.field_center - centerX), 0), p.field - w);
  for (let y = 0; y < h; y += 1) field.set(small.data.subarray(y * w, (y + 1) * w), (top + y) * p.field + left);
  return field;
}

// pipeline._digit_input: the region's own ink, under its mask widened by EDGE_PIXELS (kernels.dilate).
function digitInput(ink, region, p) {
  const [x0, y0, x1, y1] = region.box;
  const margin = p.edge_pixels + 1;
  const [left, top] = [Math.max(0, x0 - margin), Math.max(0, y0 - margin)];
  const patch = crop(ink, [left, top, Math.min(ink.w, x1 + margin), Math.min(ink.h, y1 + margin)]);
  const mask = image(patch.w, patch.h, new Uint8Array(patch.w * patch.h));
  const own = region.mask;
  for (let y = 0; y < own.h; y += 1) {
    mask.data.set(own.data.subarray(y * own.w, (y + 1) * own.w), (y + y0 - top) * mask.w + x0 - left);
  }
  let widened = mask.data;
  for (let step = 0; step < p.edge_pixels; step += 1) {
    const [was, w] = [widened, mask.w];
    widened = was.map((on, i) => on || (i >= w && was[i - w]) || (i + w < was.length && was[i + w])
      || (i % w > 0 && was[i - 1]) || (i % w < w - 1 && was[i + 1]));
  }
  patch.data = patch.data.map((value, i) => (widened[i] ? value : 0));
  return toMnist(patch, mask, p);
}

// ---------- pipeline.analyze, the even-canvas path, for one digit ----------

export function preparePad(rgba, width, height, params) {
  const p = params;
  if (rgba.length !== 4 * width * height) return handOff("the pixels do not match the drawing's size.");
  const gray = toGray(rgba, width, height);
  const tone = evenCanvasTone(gray, p);
  if (tone === null) return handOff("the drawing is not on an even canvas (the photo path reads it).");
  // decode.at_working_size(max_side=DRAWING_MAX_SIDE): a drawing this size is read as it is.
  if (Math.max(width, height) > p.drawing_max_side) return handOff("the drawing would be resized first.");
  const darkInk = hasDarkInk(gray, p);
  if (darkInk === null) return handOff("the ink's polarity needs the smoothed image.");
  if (!darkInk) return handOff("light ink on a dark canvas is read by the server.");
  const ink = inkAgainst(gray, tone, p);
  const mask = binarizeBox(ink, p);
  if (!mask || !mask.data.some((on) => on)) return { kind: "blank", note: "no ink found" };
  const { region, reason } = segmentOne(mask, width * height, p);
  if (reason) return handOff(reason);
  // The pipeline's own floor on a digit's height, in working pixels.
  const minHeight = Math.max(p.min_digit_pixels, p.min_digit_height_fraction * Math.min(width, height));
  if (!region || region.box[3] - region.box[1] < minHeight) return { kind: "blank", note: "no digit-like marks found" };
  // deskew.line_angle levels only a line of MIN_LINE_PIECES pieces or more: one digit is not rotated.
  if (p.min_line_pieces <= 1) return handOff("a single digit could be rotated level.");
  // pipeline._original_box: read at its own size, the drawing's box is the working one.
  return { kind: "digit", input: digitInput(ink, region, p), box: region.box };
}
