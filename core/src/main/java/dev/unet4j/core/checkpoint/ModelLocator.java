package dev.unet4j.core.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Finds a diffusers model's files in the layouts people actually have:
 * <ul>
 *   <li>a model folder: {@code config.json} + {@code diffusion_pytorch_model.safetensors} (or a shard index);</li>
 *   <li>a pipeline folder: the model in a subfolder ({@code unet/} by default), the scheduler in
 *       {@code scheduler/scheduler_config.json};</li>
 *   <li>a Hugging Face hub cache entry {@code models--ORG--NAME} (the snapshot named by {@code refs/main}, or the only
 *       snapshot), or any folder inside one; its files are links into {@code models--ORG--NAME/blobs/}.</li>
 * </ul>
 * Weights are looked up the way diffusers names them: {@code diffusion_pytorch_model[.VARIANT].safetensors}, or the
 * index {@code diffusion_pytorch_model.safetensors.index[.VARIANT].json} whose {@code weight_map} names the shards
 * (the index wins when both exist, as in diffusers). A {@code scheduler_config.json} next to {@code config.json}
 * is used when present.
 *
 * <p>Symbolic links are followed only while they stay inside the model's root (the hub cache entry, the pipeline
 * folder, or the model folder); {@link Options#allowSymlinksOutside} lifts that.
 */
public final class ModelLocator {
    private static final Logger LOG = LoggerFactory.getLogger(ModelLocator.class);
    private static final String CONFIG = "config.json";
    private static final String WEIGHTS = "diffusion_pytorch_model.safetensors";
    private static final String SCHEDULER_CONFIG = "scheduler_config.json";
    private static final ObjectMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    /**
     * @param subfolder            the model's subfolder in a pipeline folder ({@code "unet"})
     * @param variant              weight variant ({@code "fp16"}), or null for the plain weights
     * @param revision             hub cache: a ref name ({@code "main"}) or snapshot folder name; null for main
     * @param allowSymlinksOutside follow links that leave the model root
     */
    public record Options(String subfolder, String variant, String revision, boolean allowSymlinksOutside) {
        public static Options defaults() {
            return new Options("unet", null, null, false);
        }

        public Options withVariant(String v) {
            return new Options(subfolder, v, revision, allowSymlinksOutside);
        }

        public Options withSubfolder(String s) {
            return new Options(s, variant, revision, allowSymlinksOutside);
        }

        public Options withRevision(String r) {
            return new Options(subfolder, variant, r, allowSymlinksOutside);
        }

        public Options withSymlinksOutside(boolean allow) {
            return new Options(subfolder, variant, revision, allow);
        }
    }

    private ModelLocator() {
    }

    public static ModelFiles locate(Path path) throws IOException {
        return locate(path, Options.defaults());
    }

    public static ModelFiles locate(Path path, Options options) throws IOException {
        Path start = path.toAbsolutePath().normalize();
        if (!Files.exists(start)) throw new ModelException("model folder " + start + " does not exist");
        if (!Files.isDirectory(start)) throw new ModelException("model path " + start + " is not a folder");
        Optional<Path> hubRoot = hubCacheRoot(start);
        Path folder = start;
        if (hubRoot.isPresent() && folder.equals(hubRoot.get())) folder = snapshot(folder, options.revision());
        Path modelFolder;
        Path root; // symbolic links must stay inside it
        if (Files.isRegularFile(folder.resolve(CONFIG))) {
            modelFolder = folder;
            Path parent = folder.getParent();
            root = parent != null && isPipeline(parent) ? parent : folder;
        } else if (options.subfolder() != null && Files.isRegularFile(folder.resolve(options.subfolder()).resolve(CONFIG))) {
            modelFolder = folder.resolve(options.subfolder());
            root = folder;
        } else {
            throw new ModelException("no model in " + folder + ": looked for " + CONFIG + " there"
                    + (options.subfolder() == null ? "" : " and in " + options.subfolder() + "/") + "; found " + listing(folder));
        }
        if (hubRoot.isPresent()) root = hubRoot.get();
        Path realRoot = root.toRealPath();

        Path config = checkLink(modelFolder.resolve(CONFIG), realRoot, options);
        Optional<Path> schedulerConfig = schedulerConfig(modelFolder, realRoot, options);
        ModelFiles files = weights(modelFolder, config, schedulerConfig, realRoot, options);
        LOG.debug("model files in {}: config {}, weights {}, scheduler {}", modelFolder, config, files.weightFiles(), schedulerConfig);
        return files;
    }

    // ------------------------------------------------------------------ layout detection

    /** The enclosing hub cache entry {@code models--ORG--NAME} (with a {@code snapshots} folder), if any. */
    private static Optional<Path> hubCacheRoot(Path p) {
        for (Path d = p; d != null; d = d.getParent()) {
            Path name = d.getFileName();
            if (name != null && name.toString().startsWith("models--") && Files.isDirectory(d.resolve("snapshots"))) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    private static Path snapshot(Path hubRoot, String revision) throws IOException {
        Path snapshots = hubRoot.resolve("snapshots");
        String ref = revision == null ? "main" : revision;
        Path refFile = hubRoot.resolve("refs").resolve(ref);
        if (Files.isRegularFile(refFile)) {
            String hash = Files.readString(refFile, StandardCharsets.UTF_8).trim();
            Path snap = snapshots.resolve(hash).normalize();
            if (!snap.getParent().equals(snapshots) || !Files.isDirectory(snap)) {
                throw new ModelException("hub cache " + hubRoot + ": refs/" + ref + " names snapshot '" + hash
                        + "', which is not in snapshots/ (found " + listing(snapshots) + ")");
            }
            return snap;
        }
        if (revision != null) {
            Path snap = snapshots.resolve(revision).normalize();
            if (snap.getParent().equals(snapshots) && Files.isDirectory(snap)) return snap;
            throw new ModelException("hub cache " + hubRoot + ": no ref or snapshot named '" + revision
                    + "' (snapshots: " + listing(snapshots) + ")");
        }
        List<Path> all;
        try (Stream<Path> s = Files.list(snapshots)) {
            all = s.filter(Files::isDirectory).sorted().toList();
        }
        if (all.size() == 1) return all.get(0);
        throw new ModelException("hub cache " + hubRoot + ": no refs/main and " + all.size()
                + " snapshots " + names(all) + "; choose one with a revision");
    }

    private static boolean isPipeline(Path folder) {
        return Files.isRegularFile(folder.resolve("model_index.json")) || Files.isDirectory(folder.resolve("scheduler"));
    }

    private static Optional<Path> schedulerConfig(Path modelFolder, Path realRoot, Options options) throws IOException {
        Path beside = modelFolder.resolve(SCHEDULER_CONFIG);
        if (Files.isRegularFile(beside)) return Optional.of(checkLink(beside, realRoot, options));
        Path parent = modelFolder.getParent();
        if (parent != null) {
            Path inPipeline = parent.resolve("scheduler").resolve(SCHEDULER_CONFIG);
            if (Files.isRegularFile(inPipeline)) return Optional.of(checkLink(inPipeline, realRoot, options));
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------ weights

    /** diffusers' {@code _add_variant}: the variant goes before the last dot-separated part. */
    static String withVariant(String fileName, String variant) {
        if (variant == null) return fileName;
        int dot = fileName.lastIndexOf('.');
        return fileName.substring(0, dot) + "." + variant + fileName.substring(dot);
    }

    private static ModelFiles weights(Path folder, Path config, Optional<Path> scheduler, Path realRoot, Options options)
            throws IOException {
        String variant = options.variant();
        String single = withVariant(WEIGHTS, variant);
        String index = withVariant(WEIGHTS + ".index.json", variant);
        Path indexPath = folder.resolve(index);
        if (Files.isRegularFile(indexPath)) {
            Path checkedIndex = checkLink(indexPath, realRoot, options);
            Map<String, Path> weightMap = readIndex(folder, checkedIndex, realRoot, options);
            List<Path> shards = new ArrayList<>(new LinkedHashSet<>(weightMap.values()));
            return new ModelFiles(folder, config, shards, Optional.of(checkedIndex), weightMap, scheduler, Optional.ofNullable(variant));
        }
        Path singlePath = folder.resolve(single);
        if (Files.isRegularFile(singlePath)) {
            return new ModelFiles(folder, config, List.of(checkLink(singlePath, realRoot, options)), Optional.empty(),
                    Map.of(), scheduler, Optional.ofNullable(variant));
        }
        for (Path p : List.of(singlePath, indexPath)) {
            if (Files.exists(p) && !Files.isRegularFile(p)) {
                throw new ModelException(p + " is " + (Files.isDirectory(p) ? "a folder" : "not a regular file (a pipe, socket or"
                        + " device)") + ", not a weights file");
            }
        }
        List<String> present = weightLikeFiles(folder);
        StringBuilder msg = new StringBuilder("no ");
        msg.append(variant == null ? "" : "'" + variant + "' variant ").append("weights in ").append(folder)
                .append(": looked for ").append(single).append(" and ").append(index).append("; weight files present: ")
                .append(present.isEmpty() ? "none" : String.join(", ", present));
        if (!present.isEmpty() && present.stream().allMatch(n -> n.endsWith(".bin"))) {
            msg.append(" (PyTorch pickle weights are not read; convert them to safetensors)");
        } else if (variant == null && !present.isEmpty()) {
            msg.append(" (choose a variant to use one of them)");
        }
        throw new ModelException(msg.toString());
    }

    private static List<String> weightLikeFiles(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".safetensors") || n.endsWith(".bin") || n.contains(".index"))
                    .sorted().toList();
        }
    }

    /** The index's {@code weight_map}: every entry a shard file in the model folder that exists. */
    private static Map<String, Path> readIndex(Path folder, Path index, Path realRoot, Options options) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (JsonProcessingException e) {
            throw new ModelException("shard index " + index + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) throw new ModelException("shard index " + index + " has no \"weight_map\" object");
        if (map.isEmpty()) throw new ModelException("shard index " + index + " has an empty \"weight_map\"");
        Map<String, Path> out = new LinkedHashMap<>();
        Map<String, Path> checkedShards = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new ModelException("shard index " + index + ": tensor '" + e.getKey() + "' maps to " + e.getValue()
                        + ", expected a shard file name");
            }
            String shard = e.getValue().textValue();
            Path shardPath = checkedShards.get(shard);
            if (shardPath == null) {
                Path p = folder.resolve(shard).normalize();
                if (shard.isEmpty() || !folder.equals(p.getParent())) {
                    throw new ModelException("shard index " + index + ": tensor '" + e.getKey() + "' maps to '" + shard
                            + "', which is not a file name in " + folder);
                }
                if (!Files.isRegularFile(p)) {
                    throw new ModelException("shard index " + index + ": shard " + shard + " (for tensor '" + e.getKey()
                            + "') does not exist in " + folder);
                }
                shardPath = checkLink(p, realRoot, options);
                checkedShards.put(shard, shardPath);
            }
            out.put(e.getKey(), shardPath);
        }
        return out;
    }

    // ------------------------------------------------------------------ links

    /** {@code p} itself when it does not resolve outside {@code realRoot} (or that is allowed). */
    private static Path checkLink(Path p, Path realRoot, Options options) throws IOException {
        Path real = p.toRealPath();
        if (!options.allowSymlinksOutside() && !real.startsWith(realRoot)) {
            throw new ModelException("model file " + p + " is a symbolic link to " + real + ", outside the model root "
                    + realRoot + "; refused (allow links outside the model root to use it)");
        }
        return p;
    }

    private static String listing(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) return "nothing (no such folder)";
        try (Stream<Path> s = Files.list(folder)) {
            List<Path> all = s.sorted().toList();
            return all.isEmpty() ? "an empty folder" : names(all);
        }
    }

    private static String names(List<Path> paths) {
        List<String> n = new ArrayList<>();
        for (Path p : paths) n.add(p.getFileName() + (Files.isDirectory(p) ? "/" : ""));
        return n.toString();
    }
}
