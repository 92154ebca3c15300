package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.io.QuantizedCheckpoint;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.unet.config.UNetConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/** Loading UNets with quantized layers. */
public final class QuantizedUNets {
    private QuantizedUNets() {
    }

    /**
     * A loaded model, its W8A32 layers' quantized weights by module path, and its conv/linear weight footprint.
     * Closing it closes the model.
     */
    public record Loaded(UNetModel model, Map<String, QuantizedTensor> layers, WeightFootprint footprint) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    /** A float diffusers model quantized while it loads, as {@code plan} says. */
    public static UNetModel load(Path floatModel, Kernels kernels, QuantizationPlan plan) throws IOException {
        return loadWithLayers(floatModel, kernels, plan).model();
    }

    /** {@link #load}, also reporting which layers were quantized (e.g. for {@link UNetSensitivityProbe}). */
    public static Loaded loadWithLayers(Path floatModel, Kernels kernels, QuantizationPlan plan) throws IOException {
        return loadWithLayers(floatModel, kernels, plan, null);
    }

    /**
     * {@link #loadWithLayers}, with bias correction from per-layer mean inputs (e.g. {@code calibrator::channelMeans}
     * after a calibration run of the float model); null for none.
     */
    public static Loaded loadWithLayers(Path floatModel, Kernels kernels, QuantizationPlan plan, Function<String, float[]> inputMeans) throws IOException {
        return loadWithLayers(floatModel, kernels, plan, inputMeans, null);
    }

    /** W8A8: {@code plan}'s INT8 layers run on the int8 kernels with {@code activations} (see {@link QuantizingLayerFactory}). */
    public static UNetModel load(Path floatModel, Kernels kernels, QuantizationPlan plan, Int8Activations activations) throws IOException {
        return loadWithLayers(floatModel, kernels, plan, null, activations).model();
    }

    /**
     * The general load: bias correction from {@code inputMeans} (null for none) and W8A8 INT8 layers with
     * {@code activations} (null for W8A32).
     */
    public static Loaded loadWithLayers(Path floatModel, Kernels kernels, QuantizationPlan plan, Function<String, float[]> inputMeans,
                                        Int8Activations activations) throws IOException {
        QuantizingLayerFactory factory = new QuantizingLayerFactory(kernels, WeightSource.of(plan), inputMeans, activations);
        UNetModel model = UNetModel.load(floatModel, LoadOptions.of(kernels).withLayerFactory(k -> {
            if (k != kernels) throw new IllegalStateException("layer factory asked for other kernels than the model's");
            return factory;
        }));
        return new Loaded(model, factory.quantizedLayers(), factory.footprint());
    }

    /** A folder written by {@link QuantizedCheckpoint#write}: its stored codes become the layers' weights as they are. */
    public static UNetModel loadCheckpoint(Path folder, Kernels kernels) throws IOException {
        QuantizedCheckpoint ckpt = QuantizedCheckpoint.read(folder);
        UNetConfig cfg = UNetConfig.of(DiffusersConfig.parse(ckpt.config(), folder.resolve("config.json").toString()));
        ParameterSource source = new ParameterSource() {
            @Override
            public Tensor load(String name, long[] expectedShape) {
                return ckpt.loadFloat(name);
            }

            @Override
            public Set<String> names() {
                return ckpt.parameterNames();
            }
        };
        LoadOptions options = LoadOptions.of(kernels).withLayerFactory(k -> new QuantizingLayerFactory(k, WeightSource.of(ckpt)));
        String name = folder.resolve(QuantizedCheckpoint.WEIGHTS_FILE).toString();
        return UNetModel.build(cfg, source, name, options);
    }
}
