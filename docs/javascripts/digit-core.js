/* Make a drawing look like an MNIST digit, and score it with a single-layer network.
 *
 * The same steps, in the same order, as src/looking_inside/digits.py (the reference
 * the browser tests compare against): crop the ink to its bounding box, scale the
 * longer side to 20 px with an area-averaging (box) filter, and place it in a 28x28
 * frame with its centre of mass at pixel (14, 14). Everything is float64, as in
 * numpy, so the two agree to rounding error.
 *
 * Exposes window.LiDigits; no DOM access here.
 */
(function () {
  "use strict";

  var FRAME = 28;
  var BOX = 20;

  /* Canvas RGBA bytes -> ink in [0, 1]: the alpha channel (the pad is transparent,
   * so the palette's colours never change what the network sees). */
  function inkFromRGBA(data, width, height) {
    var ink = new Float64Array(width * height);
    for (var i = 0; i < ink.length; i++) ink[i] = data[4 * i + 3] / 255;
    return ink;
  }

  /* [top, left, bottom, right) of the pixels with any ink, or null when blank. */
  function boundingBox(ink, width, height) {
    var top = height, left = width, bottom = -1, right = -1;
    for (var y = 0; y < height; y++) {
      for (var x = 0; x < width; x++) {
        if (ink[y * width + x] > 0) {
          if (y < top) top = y;
          if (y > bottom) bottom = y;
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
    }
    return bottom < 0 ? null : [top, left, bottom + 1, right + 1];
  }

  /* Python's round() rounds halves to even; Math.round rounds them up. Both sides
   * use floor(x + 0.5) so exact halves agree. */
  function roundHalfUp(x) {
    return Math.floor(x + 0.5);
  }

  /* Area-averaging weights from nIn to nOut pixels: rows of (first input, weights). */
  function boxWeights(nIn, nOut) {
    var rows = [];
    var span = nIn / nOut;
    for (var k = 0; k < nOut; k++) {
      var a = (k * nIn) / nOut, b = ((k + 1) * nIn) / nOut;
      var first = Math.floor(a), last = Math.min(Math.ceil(b), nIn);
      var w = [];
      for (var j = first; j < last; j++) w.push((Math.min(b, j + 1) - Math.max(a, j)) / span);
      rows.push({ first: first, w: w });
    }
    return rows;
  }

  function scaledSize(height, width) {
    if (height >= width) return [BOX, Math.max(1, roundHalfUp((width * BOX) / height))];
    return [Math.max(1, roundHalfUp((height * BOX) / width)), BOX];
  }

  /* Ink (width x height) -> Float64Array(784), row-major 28x28, values in [0, 1]. */
  function mnistLike(ink, width, height) {
    var out = new Float64Array(FRAME * FRAME);
    var box = boundingBox(ink, width, height);
    if (!box) return out;
    var ch = box[2] - box[0], cw = box[3] - box[1];
    var size = scaledSize(ch, cw), h = size[0], w = size[1];
    var wy = boxWeights(ch, h), wx = boxWeights(cw, w);
    // Columns first (crop rows x w), then rows: the order numpy's Ry @ crop @ Rx.T
    // would suggest; either order agrees to rounding error.
    var tmp = new Float64Array(ch * w);
    for (var y = 0; y < ch; y++) {
      var rowBase = (box[0] + y) * width + box[1];
      for (var k = 0; k < w; k++) {
        var r = wx[k], s = 0;
        for (var j = 0; j < r.w.length; j++) s += r.w[j] * ink[rowBase + r.first + j];
        tmp[y * w + k] = s;
      }
    }
    var small = new Float64Array(h * w);
    for (var i = 0; i < h; i++) {
      var q = wy[i];
      for (var x = 0; x < w; x++) {
        var t = 0;
        for (var m = 0; m < q.w.length; m++) t += q.w[m] * tmp[(q.first + m) * w + x];
        small[i * w + x] = t;
      }
    }
    // Centre of mass in pixel indices; MNIST's digits have it at index 14.
    var total = 0, sy = 0, sx = 0;
    for (var yy = 0; yy < h; yy++) {
      for (var xx = 0; xx < w; xx++) {
        var v = small[yy * w + xx];
        total += v;
        sy += yy * v;
        sx += xx * v;
      }
    }
    var cy = sy / total, cx = sx / total;
    // Clamp so no ink falls off the frame (only a very lopsided drawing needs it).
    var y0 = Math.min(Math.max(roundHalfUp(FRAME / 2 - cy), 0), FRAME - h);
    var x0 = Math.min(Math.max(roundHalfUp(FRAME / 2 - cx), 0), FRAME - w);
    for (var a = 0; a < h; a++) {
      for (var c = 0; c < w; c++) out[(y0 + a) * FRAME + x0 + c] = small[a * w + c];
    }
    return out;
  }

  /* z = b + W x for every class; weights is an array of 10 arrays of 784. */
  function scores(weights, biases, x) {
    var z = new Float64Array(biases.length);
    for (var c = 0; c < biases.length; c++) {
      var row = weights[c], s = 0;
      for (var i = 0; i < x.length; i++) s += row[i] * x[i];
      z[c] = biases[c] + s;
    }
    return z;
  }

  function softmax(z) {
    var max = -Infinity, sum = 0, p = new Float64Array(z.length);
    for (var i = 0; i < z.length; i++) max = Math.max(max, z[i]);
    for (var j = 0; j < z.length; j++) sum += p[j] = Math.exp(z[j] - max);
    for (var k = 0; k < z.length; k++) p[k] /= sum;
    return p;
  }

  function argmax(v) {
    var best = 0;
    for (var i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
    return best;
  }

  window.LiDigits = {
    FRAME: FRAME, BOX: BOX,
    inkFromRGBA: inkFromRGBA, boundingBox: boundingBox, boxWeights: boxWeights,
    scaledSize: scaledSize, mnistLike: mnistLike, scores: scores, softmax: softmax,
    argmax: argmax
  };
})();
