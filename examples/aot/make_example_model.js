#!/usr/bin/env node
/**
 * Writes examples/aot/rings/: a small MLP trained with TensorFlow.js (4.22.0, cpu backend)
 * and saved as model.json + weights.bin, the way tfjs-node's file:// handler saves.
 *
 *   cd tests/fixtures && npm install && cd ../..
 *   NODE_PATH=tests/fixtures/node_modules node examples/aot/make_example_model.js
 *
 * It also writes examples/aot/input.txt (a few points, the C example's input) and
 * rings/expected.json (TF.js's predictions for them).
 *
 * The model tells which ring a point (x, y) lies in: 0 (distance < 0.5 from the origin),
 * 1 (< 1) or 2 (farther): Input [2] -> Dense(16, relu) -> Dense(16, relu) -> Dense(3, softmax).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const OUT = path.join(__dirname, 'rings');

function points(n, seed) {
  let a = seed >>> 0;    // mulberry32
  const random = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const xs = [], ys = [];
  for (let i = 0; i < n; i++) {
    const x = random() * 3 - 1.5, y = random() * 3 - 1.5;
    const r = Math.hypot(x, y);
    xs.push([x, y]);
    ys.push(r < 0.5 ? 0 : r < 1 ? 1 : 2);
  }
  return [tf.tensor2d(xs), tf.oneHot(tf.tensor1d(ys, 'int32'), 3)];
}

async function main() {
  const init = (seed) => tf.initializers.glorotUniform({seed});
  const model = tf.sequential({name: 'rings', layers: [
    tf.layers.dense({units: 16, activation: 'relu', inputShape: [2], kernelInitializer: init(1)}),
    tf.layers.dense({units: 16, activation: 'relu', kernelInitializer: init(2)}),
    tf.layers.dense({units: 3, activation: 'softmax', kernelInitializer: init(3)}),
  ]});
  model.compile({optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy',
                 metrics: ['accuracy']});
  const [xs, ys] = points(2000, 7);
  const history = await model.fit(xs, ys, {epochs: 60, batchSize: 64, shuffle: false,
                                           verbose: 0});
  const acc = history.history.acc[history.history.acc.length - 1];
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    fs.mkdirSync(OUT, {recursive: true});
    const modelJSON = {
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{paths: ['weights.bin'], weights: artifacts.weightSpecs}],
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
    };
    fs.writeFileSync(path.join(OUT, 'model.json'), JSON.stringify(modelJSON), 'utf8');
    fs.writeFileSync(path.join(OUT, 'weights.bin'), Buffer.from(artifacts.weightData));
    return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
  }));
  const rows = [[0.1, 0.2], [0.7, -0.3], [1.2, 0.9], [-0.2, -0.9]];
  const probe = tf.tensor2d(rows);
  fs.writeFileSync(path.join(__dirname, 'input.txt'),
                   '# x y: one point per line\n' + rows.map((r) => r.join(' ')).join('\n') + '\n');
  const predicted = model.predict(probe);
  fs.writeFileSync(path.join(OUT, 'expected.json'), JSON.stringify({
    generated_by: `TensorFlow.js ${tf.version.tfjs} (${tf.getBackend()} backend), ` +
                  'examples/aot/make_example_model.js',
    input: {shape: probe.shape, data: Array.from(probe.dataSync())},
    output: {shape: predicted.shape, data: Array.from(predicted.dataSync())},
  }, null, 1) + '\n');
  console.log(`training accuracy ${acc.toFixed(3)}; predictions:`);
  predicted.print();
}

main();
