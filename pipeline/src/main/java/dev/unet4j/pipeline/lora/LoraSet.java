package dev.unet4j.pipeline.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The LoRAs of one generation, each at its scale: {@code W' = W + Σ scale·(alpha/rank)·up·down}. Immutable; the
 * files are read once and a set can be reused by any number of generations and threads.
 *
 * @param entries the LoRAs in order
 * @param strict  true (default): a module that targets no layer of the model is an error; false: skipped
 */
public record LoraSet(List<Entry> entries, boolean strict) {
    /** One LoRA and its scale. */
    public record Entry(LoraFile file, double scale) {
        public Entry {
            Objects.requireNonNull(file, "file");
            if (!Double.isFinite(scale)) throw new IllegalArgumentException("LoRA scale must be finite, got " + scale + " for " + file.file());
        }
    }

    public LoraSet {
        entries = List.copyOf(entries);
    }

    /** No LoRA. */
    public static LoraSet none() {
        return new LoraSet(List.of(), true);
    }

    public static LoraSet of(LoraFile file, double scale) {
        return none().with(file, scale);
    }

    public LoraSet with(LoraFile file, double scale) {
        List<Entry> l = new ArrayList<>(entries);
        l.add(new Entry(file, scale));
        return new LoraSet(l, strict);
    }

    /** Modules that target no layer are skipped instead of reported (the CLI's {@code --lora-strict false}). */
    public LoraSet lenient() {
        return new LoraSet(entries, false);
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }
}
