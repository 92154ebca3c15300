package dev.unet4j.vae;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelFiles;
import dev.unet4j.core.checkpoint.ModelLocator;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.UnsupportedConfigException;

import java.io.IOException;
import java.nio.file.Path;

/** Finding and opening a VAE folder ({@code vae/} itself, or a pipeline folder holding one). */
final class VaeFiles {
    private VaeFiles() {
    }

    /** What a loader does with the folder's config and weights. */
    interface Builder<T> {
        T build(DiffusersConfig config, ParameterSource source, String sourceName);
    }

    static ModelFiles locate(Path dir, LoadOptions options) throws IOException {
        return ModelLocator.locate(dir, ModelLocator.Options.defaults().withSubfolder("vae").withVariant(options.variant()));
    }

    /** The folder's {@code _class_name} (null when absent). */
    static String className(Path dir, LoadOptions options) throws IOException {
        return DiffusersConfig.load(locate(dir, options).configJson()).className();
    }

    /** Loads the folder, refusing a config whose {@code _class_name} is set and is not {@code expectedClass}. */
    static <T> T load(Path dir, LoadOptions options, String expectedClass, Builder<T> builder) throws IOException {
        ModelFiles files = locate(dir, options);
        DiffusersConfig config = DiffusersConfig.load(files.configJson());
        String cls = config.className();
        if (cls != null && !cls.equals(expectedClass)) {
            throw new UnsupportedConfigException("config " + files.configJson() + ": _class_name \"" + cls + "\" is not " + expectedClass
                    + (cls.equals("AutoencoderKL") || cls.equals("AutoencoderTiny") ? " (Autoencoder.load picks the class)" : ""));
        }
        try (WeightSource weights = WeightSource.open(files)) {
            String name = files.weightFiles().size() == 1 ? files.weightFiles().get(0).toString() : files.folder() + " (sharded)";
            return builder.build(config, ParameterSource.of(weights), name);
        }
    }
}
