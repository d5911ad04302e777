'use strict';
/**
 * TensorFlow.js peer: one workload on one backend.
 *
 *   node bench.js --workload W2 --backend cpu|wasm --data DIR [--quick] [--max-train-samples N]
 *
 * DIR holds the workload's float32 .npy files (see ../workloads.py). Prints one JSON
 * object on stdout: {status, backend, versions, threads, metrics, reps, check, notes}
 * with the metric keys of workloads.METRICS. --max-train-samples trains W3/W5 on the
 * first N samples only (the note in the output says so).
 */
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');

const REPS = {W2: {latency: 2000, throughput: 50}, W4: {latency: 500, throughput: 50},
  W6: {latency: 200}};
const TRAIN = {W3: {epochs: 3, batchSize: 128}, W5: {epochs: 3, batchSize: 64}};

function parseArgs(argv) {
  const args = {quick: false, maxTrainSamples: 0};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--quick') args.quick = true;
    else if (flag === '--workload') args.workload = argv[++i];
    else if (flag === '--backend') args.backend = argv[++i];
    else if (flag === '--data') args.data = argv[++i];
    else if (flag === '--max-train-samples') args.maxTrainSamples = Number(argv[++i]);
    else throw new Error(`unknown argument ${flag}`);
  }
  for (const key of ['workload', 'backend', 'data']) {
    if (!args[key]) throw new Error(`--${key} is required`);
  }
  return args;
}

/** Reads a little-endian float32 .npy file (C order) as {data: Float32Array, shape}. */
function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) {
    throw new Error(`${file}: expected a C-order float32 array, got ${header}`);
  }
  const shapeText = header.match(/'shape': \(([^)]*)\)/)[1];
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const offset = headerStart + headerLength;
  const copy = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + bytes.length);
  return {data: new Float32Array(copy), shape};
}

function loadArrays(dir) {
  const arrays = {};
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith('.npy')) arrays[name.slice(0, -4)] = readNpy(path.join(dir, name));
  }
  return arrays;
}

function weightsOf(arrays) {
  const weights = [];
  for (let i = 0; `w${i}` in arrays; i++) weights.push(arrays[`w${i}`]);
  return weights;
}

function toTensor(array) {
  return tf.tensor(array.data, array.shape, 'float32');
}

/** The workload's model with TF.js defaults (channelsLast; LSTM recurrentActivation sigmoid). */
function buildModel(workload) {
  const model = tf.sequential();
  if (workload === 'W1') {
    model.add(tf.layers.dense({units: 1, inputShape: [1]}));
  } else if (workload === 'W2' || workload === 'W3') {
    model.add(tf.layers.dense({units: 512, activation: 'relu', inputShape: [784]}));
    model.add(tf.layers.dense({units: 512, activation: 'relu'}));
    model.add(tf.layers.dense({units: 10, activation: 'softmax'}));
  } else if (workload === 'W4' || workload === 'W5') {
    model.add(tf.layers.conv2d({filters: 32, kernelSize: 3, activation: 'relu',
      inputShape: [28, 28, 1]}));
    model.add(tf.layers.maxPooling2d({poolSize: 2}));
    model.add(tf.layers.conv2d({filters: 64, kernelSize: 3, activation: 'relu'}));
    model.add(tf.layers.maxPooling2d({poolSize: 2}));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({units: 128, activation: 'relu'}));
    model.add(tf.layers.dense({units: 10, activation: 'softmax'}));
  } else if (workload === 'W6') {
    model.add(tf.layers.lstm({units: 64, inputShape: [32, 16], recurrentActivation: 'sigmoid'}));
    model.add(tf.layers.dense({units: 1}));
  } else {
    throw new Error(`unsupported workload ${workload}`);
  }
  return model;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median seconds of fn() over `calls` calls after `warmup` calls; stops early past budgetS. */
function medianSeconds(fn, calls, warmup, budgetS) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
    if (budgetS && times.length >= 5 && (performance.now() - started) / 1000 > budgetS) break;
  }
  return {seconds: median(times), calls: times.length};
}

function predictArray(model, x) {
  return tf.tidy(() => model.predict(x, {batchSize: x.shape[0]}).arraySync());
}

function reps(args, kind) {
  const count = REPS[args.workload][kind];
  return args.quick ? Math.max(5, Math.floor(count / 10)) : count;
}

async function measureSeed(model, arrays) {
  model.compile({optimizer: 'sgd', loss: 'meanSquaredError'});
  const xs = toTensor(arrays.x_train);
  const ys = toTensor(arrays.y_train);
  const t0 = performance.now();
  await model.fit(xs, ys, {epochs: 1000, verbose: 0});  // batchSize default 32
  const fitS = (performance.now() - t0) / 1000;
  const check = predictArray(model, toTensor(arrays.x_check));
  return {metrics: {fit_s: fitS, predicted: check[0][0]}, reps: {}, check, notes: []};
}

async function measureTraining(model, workload, arrays, args) {
  const check = predictArray(model, toTensor(arrays.x_check));
  const settings = TRAIN[workload];
  model.compile({optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy'});
  let xs = toTensor(arrays.x_train);
  let ys = toTensor(arrays.y_train);
  const notes = [];
  if (args.maxTrainSamples && args.maxTrainSamples < xs.shape[0]) {
    notes.push(`capped: trained on the first ${args.maxTrainSamples} of ${xs.shape[0]} samples`);
    xs = xs.slice(0, args.maxTrainSamples);
    ys = ys.slice(0, args.maxTrainSamples);
  }
  const epochSeconds = [];
  let started = 0;
  await model.fit(xs, ys, {
    epochs: settings.epochs, batchSize: settings.batchSize, shuffle: true, verbose: 0,
    callbacks: {
      onEpochBegin: () => { started = performance.now(); },
      onEpochEnd: () => { epochSeconds.push((performance.now() - started) / 1000); },
    },
  });
  const later = epochSeconds.slice(1);
  const trainSps = xs.shape[0] * later.length / later.reduce((a, b) => a + b, 0);
  notes.push(`epoch seconds ${JSON.stringify(epochSeconds.map((s) => Number(s.toFixed(3))))}`);
  return {metrics: {train_sps: trainSps}, reps: {}, check, notes};
}

function measureInference(model, workload, arrays, args) {
  const inputs = {W2: ['x_b1', 'x_b256'], W4: ['x_b1', 'x_b64'], W6: ['x_b32', null]}[workload];
  const metrics = {};
  const measured = {};
  const [latencyName, throughputName] = inputs;
  const xLatency = toTensor(arrays[latencyName]);
  const predict = (x) => tf.tidy(() => model.predict(x, {batchSize: x.shape[0]}).dataSync());
  let result = medianSeconds(() => predict(xLatency), reps(args, 'latency'), 20, 0);
  metrics[`latency_b${xLatency.shape[0]}_us`] = result.seconds * 1e6;
  measured[`latency_b${xLatency.shape[0]}_us`] = result.calls;
  if (throughputName) {
    const xThroughput = toTensor(arrays[throughputName]);
    const batch = xThroughput.shape[0];
    result = medianSeconds(() => predict(xThroughput), reps(args, 'throughput'), 3, 60);
    metrics[`throughput_b${batch}_sps`] = batch / result.seconds;
    measured[`throughput_b${batch}_sps`] = result.calls;
  }
  const check = predictArray(model, toTensor(arrays.x_check));
  return {metrics, reps: measured, check, notes: []};
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  await tf.setBackend(args.backend);
  await tf.ready();
  const arrays = loadArrays(args.data);
  const model = buildModel(args.workload);
  model.setWeights(weightsOf(arrays).map(toTensor));
  let result;
  if (args.workload === 'W1') result = await measureSeed(model, arrays);
  else if (args.workload in TRAIN) result = await measureTraining(model, args.workload, arrays, args);
  else result = measureInference(model, args.workload, arrays, args);
  const threads = {javascript: 1};
  if (args.backend === 'wasm') {
    threads.wasm_threads = wasm.getThreadsCount();
    threads.wasm_simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    threads.wasm_multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  const versions = {'@tensorflow/tfjs': tf.version.tfjs, node: process.versions.node,
    '@tensorflow/tfjs-backend-wasm': wasm.version_wasm};
  console.log(JSON.stringify({status: 'ok', backend: tf.getBackend(), versions, threads, ...result}));
}

main().catch((error) => {
  console.error(error);
  console.log(JSON.stringify({status: 'error', error: String(error && error.message || error)}));
  process.exit(1);
});
