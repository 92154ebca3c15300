package dev.unet4j.pipeline.lora;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LayerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The conv and linear layers of one built model by module path, with their shapes: what a LoRA may target and the
 * shapes its factors must multiply to. Filled by {@link #recording} while the model is built.
 */
public final class LayerCatalog {
    /** One layer: {@code spec} is null for a linear ({@code [out, in]}), the convolution's spec otherwise. */
    public record Layer(String path, int out, int in, Conv2dSpec spec) {
        public boolean conv() {
            return spec != null;
        }

        long[] weightShape() {
            return spec == null ? new long[] {out, in} : spec.weightShape();
        }
    }

    private final Map<String, Layer> layers = new ConcurrentHashMap<>();
    private final Map<String, String> byFlatName = new ConcurrentHashMap<>();

    /** {@code factory} that also records every layer it builds here. */
    public LayerFactory recording(LayerFactory factory) {
        return new LayerFactory() {
            @Override
            public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
                add(new Layer(path, spec.outChannels(), spec.inChannels(), spec));
                return factory.conv2d(path, spec, weight, bias);
            }

            @Override
            public Linear linear(String path, Tensor weight, Tensor bias) {
                add(new Layer(path, (int) weight.dim(0), (int) weight.dim(1), null));
                return factory.linear(path, weight, bias);
            }
        };
    }

    private void add(Layer l) {
        layers.put(l.path(), l);
        byFlatName.put(flat(l.path()), l.path());
    }

    /** The layer at {@code path}, or null. */
    public Layer get(String path) {
        return layers.get(path);
    }

    /** The layer whose path with '.' written '_' is {@code flatName} (kohya's module names), or null. */
    public Layer byFlatName(String flatName) {
        String p = byFlatName.get(flatName);
        return p == null ? null : layers.get(p);
    }

    /** Every recorded layer path. */
    public java.util.Set<String> paths() {
        return java.util.Collections.unmodifiableSet(layers.keySet());
    }

    public int size() {
        return layers.size();
    }

    static String flat(String path) {
        return path.replace('.', '_');
    }
}
