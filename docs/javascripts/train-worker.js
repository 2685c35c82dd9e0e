/* The playground's training loop, off the main thread: a Web Worker, so that the
 * page keeps drawing (and the reader keeps scrolling) while it trains.
 *
 * Messages in:  {type: "load", url}  {type: "reset", settings}  {type: "run"}
 *               {type: "pause"}  {type: "step", n}  {type: "weights"}
 * Messages out: {type: "loaded", ...}  {type: "error", message}  {type: "update", ...}
 *               {type: "weights", layers}
 */
/* global LiTrain */
importScripts("train-core.js");

var MAGIC = "LITS", VERSION = 1, HEADER = 16, PIXELS = 784;
var SLICE_MS = 30; // train this long between updates: ~30 updates a second
var EVAL_MS = 200; // and measure the held-out set at most this often

var data = null, trainer = null, running = false, timer = null;
var lastEval = -Infinity, lossSum = 0, lossCount = 0, trainMs = 0;

function fail(message) {
  postMessage({ type: "error", message: message });
}

/* The sample: gzip (see products/exports.py, make_sample) around a 16-byte header
 * and uint8 labels and images. Checked, so a damaged file is a message, not NaNs. */
function parse(bytes) {
  if (bytes.length < HEADER) throw new Error("文件太短（" + bytes.length + " 字节）");
  var magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  var view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  var version = view.getUint32(4, true), nTrain = view.getUint32(8, true);
  var nTest = view.getUint32(12, true);
  if (magic !== MAGIC || version !== VERSION) throw new Error("文件头不对");
  var need = HEADER + (nTrain + nTest) * (1 + PIXELS);
  if (nTrain < 1 || nTest < 1 || bytes.length !== need) {
    throw new Error("长度不符：应为 " + need + " 字节，实际 " + bytes.length + " 字节");
  }
  var o = HEADER;
  var d = {
    trainLabels: bytes.slice(o, o + nTrain),
    testLabels: bytes.slice(o + nTrain, o + nTrain + nTest)
  };
  o += nTrain + nTest;
  d.trainImages = bytes.slice(o, o + nTrain * PIXELS);
  d.testImages = bytes.slice(o + nTrain * PIXELS, need);
  for (var i = 0; i < nTrain; i++) if (d.trainLabels[i] > 9) throw new Error("标签超出 0–9");
  for (var j = 0; j < nTest; j++) if (d.testLabels[j] > 9) throw new Error("标签超出 0–9");
  return d;
}

function gunzip(buffer) {
  var head = new Uint8Array(buffer, 0, Math.min(2, buffer.byteLength));
  // A server may have already undone the gzip (Content-Encoding): then use it as is.
  if (head[0] !== 0x1f || head[1] !== 0x8b) return Promise.resolve(new Uint8Array(buffer));
  var stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
}

function load(url) {
  fetch(url)
    .then(function (r) {
      if (!r.ok) throw new Error("服务器返回 " + r.status);
      return r.arrayBuffer();
    })
    .then(function (buffer) {
      return gunzip(buffer).catch(function () { throw new Error("不是完整的 gzip 文件"); });
    })
    .then(function (bytes) {
      data = parse(bytes);
      postMessage({
        type: "loaded", nTrain: data.trainLabels.length, nTest: data.testLabels.length,
        testImages: data.testImages, testLabels: data.testLabels
      });
    })
    .catch(function (e) { fail(String(e && e.message ? e.message : e)); });
}

function layersOut() {
  return trainer.layers.map(function (L) {
    return { out: L.out, in: L.in, w: L.w.slice(), b: L.b.slice() };
  });
}

function update(forceEval) {
  var msg = {
    type: "update", step: trainer.step, epoch: trainer.step * trainer.batch / data.trainLabels.length,
    loss: lossCount ? lossSum / lossCount : null, trainMs: trainMs, running: running,
    layers: layersOut()
  };
  lossSum = 0;
  lossCount = 0;
  var now = performance.now();
  if (forceEval || now - lastEval >= EVAL_MS) {
    var e = trainer.evaluate(data.testImages, data.testLabels);
    msg.accuracy = e.accuracy;
    msg.testLoss = e.loss;
    msg.confusion = e.confusion;
    lastEval = performance.now();
  }
  postMessage(msg);
}

function slice() {
  timer = null;
  if (!running) return;
  var t0 = performance.now();
  do {
    lossSum += trainer.trainStep();
    lossCount += 1;
  } while (performance.now() - t0 < SLICE_MS);
  trainMs += performance.now() - t0;
  update(false);
  // setTimeout, not a loop: lets "pause" and "reset" messages in between slices.
  timer = setTimeout(slice, 0);
}

onmessage = function (ev) {
  var m = ev.data;
  if (m.type === "load") {
    load(m.url);
  } else if (m.type === "reset") {
    running = false;
    if (timer) clearTimeout(timer);
    timer = null;
    var s = m.settings;
    trainer = new LiTrain.Trainer({ hidden: s.hidden, lr: s.lr, weightDecay: s.wd,
      batch: s.batch, seed: s.seed }, data.trainImages, data.trainLabels);
    trainMs = 0;
    lossSum = 0;
    lossCount = 0;
    update(true);
  } else if (m.type === "run") {
    if (!running) {
      running = true;
      slice();
    }
  } else if (m.type === "pause") {
    running = false;
    update(true);
  } else if (m.type === "step") {
    var t0 = performance.now();
    for (var i = 0; i < (m.n || 1); i++) {
      lossSum += trainer.trainStep();
      lossCount += 1;
    }
    trainMs += performance.now() - t0;
    update(true);
  } else if (m.type === "weights") {
    postMessage({ type: "weights", step: trainer.step, layers: layersOut() });
  }
};
