package dev.unet4j.bench.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The zoo models (MK-UNet: depthwise and grouped convolutions, BatchNorm, ReLU6, channel and spatial attention,
 * channel shuffle, max pooling, bilinear upsampling; UNet++: InstanceNorm, LeakyReLU, strided and transposed
 * convolutions, channel softmax; DDoS-UNet: 3-D convolutions, average pooling, trilinear resizing to an odd skip)
 * recorded as ONNX graphs from one unet4j forward: ONNX Runtime on the graph gives the official PyTorch output of the
 * fixtures and unet4j's own, within 1e-4 of max|output|.
 */
class ZooOnnxExportTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"mkunet-tiny, x, output", "unetpp-tiny, x, output.0", "ddos-unet-tiny, x, output", "ddos-unet-tiny, x_odd, output_odd"})
    void onnxRuntimeOnTheExportedGraphGivesTheOfficialOutput(String fixture, String input, String output) throws Exception {
        Path dir = Fixtures.fixture(fixture);
        float[] ref, ours, fromOrt;
        long[] refShape;
        Map<String, OnnxTracer.Input> inputs;
        Path model;
        try (SafetensorsFile out = SafetensorsFile.open(dir.resolve("outputs.safetensors"));
             Tensor r = out.load(output, Allocator.direct())) {
            ref = r.toFloatArray();
            refShape = r.shape();
        }
        try (DnnlKernels kernels = new DnnlKernels(); OnnxTracer tracer = new OnnxTracer(kernels, tmp);
             ZooModel<?> m = ZooModel.load(dir, LoadOptions.of(tracer)); ZooSession s = m.newSession();
             SafetensorsFile in = SafetensorsFile.open(dir.resolve("inputs.safetensors"));
             Tensor x = in.load(input, Allocator.direct())) {
            Map<String, Tensor> outs = s.forward(x);
            try {
                String main = outs.containsKey(output) ? output : outs.keySet().iterator().next();
                Tensor y = outs.get(main);
                ours = y.toFloatArray();
                model = tracer.finish(y);
            } finally {
                outs.values().forEach(Tensor::close);
            }
            inputs = tracer.inputValues();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions(); OrtSession ort = env.createSession(model.toString(), so)) {
            for (var e : inputs.entrySet()) {
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().values()), e.getValue().shape()));
            }
            try (OrtSession.Result r = ort.run(feeds)) {
                OnnxTensor o = (OnnxTensor) r.get(0);
                assertArrayEquals(refShape, o.getInfo().getShape(), fixture + " output shape");
                FloatBuffer b = o.getFloatBuffer();
                fromOrt = new float[b.remaining()];
                b.get(fromOrt);
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
        double max = Arrays.stream(toDouble(ref)).map(Math::abs).max().orElse(0), vsRef = 0, vsOurs = 0;
        for (int i = 0; i < ref.length; i++) {
            vsRef = Math.max(vsRef, Math.abs(fromOrt[i] - ref[i]));
            vsOurs = Math.max(vsOurs, Math.abs(fromOrt[i] - ours[i]));
        }
        System.out.printf("%s %s: ORT vs official %.2e, ORT vs unet4j %.2e (max|ref| %.3f), %d graph inputs%n", fixture, input,
                vsRef / max, vsOurs / max, max, inputs.size());
        assertTrue(vsRef <= 1e-4 * max, fixture + ": ONNX Runtime vs the official output: max|d| " + vsRef + " (max|ref| " + max + ")");
        assertTrue(vsOurs <= 1e-4 * max, fixture + ": ONNX Runtime vs unet4j: max|d| " + vsOurs);
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
