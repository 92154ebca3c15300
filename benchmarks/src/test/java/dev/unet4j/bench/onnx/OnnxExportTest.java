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
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ONNX graph recorded from one unet4j forward, run by ONNX Runtime, reproduces diffusers' output stored in the
 * fixtures (so the side-by-side benchmark times the same network). Covers every op and view the two model classes
 * use: resnets, downsample/upsample, self- and cross-attention transformers with GEGLU, token views of channels-last maps.
 */
class OnnxExportTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"unet2d-ddpm-tiny", "unet2d-cond-sd-tiny"})
    void onnxRuntimeOnTheExportedGraphGivesDiffusersOutput(String fixture) throws Exception {
        Path dir = Fixtures.fixture(fixture);
        float[] ref, fromOrt;
        long[] refShape;
        Map<String, OnnxTracer.Input> inputs;
        Path model;
        List<Tensor> owned = new ArrayList<>();
        try (SafetensorsFile out = SafetensorsFile.open(dir.resolve("outputs.safetensors"));
             Tensor r = out.load("sample", Allocator.direct())) {
            ref = r.toFloatArray();
            refShape = r.shape();
        }
        try (DnnlKernels kernels = new DnnlKernels(); OnnxTracer tracer = new OnnxTracer(kernels, tmp);
             UNetModel m = UNetModel.load(dir, LoadOptions.of(tracer)); UNetSession s = m.newSession();
             SafetensorsFile in = SafetensorsFile.open(dir.resolve("inputs.safetensors"))) {
            Map<String, Tensor> t = new HashMap<>();
            for (String name : in.names()) {
                Tensor x = in.load(name, Allocator.direct());
                owned.add(x);
                t.put(name, x);
            }
            UNetInputs call = UNetInputs.builder(t.get("sample"), Timestep.float32(t.get("timestep").toFloatArray()))
                    .encoderHiddenStates(t.get("encoder_hidden_states")).classLabels(t.get("class_labels")).build();
            try (Tensor y = s.forward(call)) {
                model = tracer.finish(y);
            }
            inputs = tracer.inputValues();
        } finally {
            owned.forEach(Tensor::close);
        }
        assertTrue(inputs.size() >= 2, "sample and the timestep projection are graph inputs: " + inputs.keySet());

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OrtSession ort = env.createSession(model.toString(), so)) {
            for (var e : inputs.entrySet()) {
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(e.getValue().values()), e.getValue().shape()));
            }
            try (OrtSession.Result r = ort.run(feeds)) {
                OnnxTensor o = (OnnxTensor) r.get(0);
                assertEquals(List.of(refShape[0], refShape[1], refShape[2], refShape[3]),
                        java.util.Arrays.stream(o.getInfo().getShape()).boxed().toList());
                FloatBuffer b = o.getFloatBuffer();
                fromOrt = new float[b.remaining()];
                b.get(fromOrt);
            }
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
        double max = 0, d = 0;
        for (int i = 0; i < ref.length; i++) {
            max = Math.max(max, Math.abs(ref[i]));
            d = Math.max(d, Math.abs(fromOrt[i] - ref[i]));
        }
        assertTrue(d <= 1e-4 * (1 + max), fixture + ": ONNX Runtime on the export vs diffusers: max|d| " + d + " (max|ref| " + max + ")");
    }
}
