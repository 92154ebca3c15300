package dev.unet4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The bundled demo model ({@code demo-digits}: class-conditional 16x16 digits, see the README). The model loader
 * memory-maps a folder, so the classpath copy is extracted once to
 * {@code <cache>/demo-digits-<sha256 prefix of its manifest>/}: written to a temporary sibling folder, every file
 * checked against {@code SHA256SUMS}, then renamed into place, so a crash never leaves a half-written model and two
 * processes extracting at once both end up with a verified copy. An existing copy is re-verified on every use (a
 * few milliseconds for 7 MB) and replaced if it was damaged.
 *
 * <p>The cache folder is {@code -Dunet4j.cache}, else {@code $UNET4J_CACHE}, else {@code ~/.cache/unet4j}.
 */
final class DemoModel {
    static final String NAME = "demo-digits";
    /** The null (unconditional) class of the demo model, trained with label dropout. */
    static final int NULL_CLASS = 10;
    /** The demo model's recommended guidance scale (models/README: 95% of samples recognised at 1.5). */
    static final double GUIDANCE = 1.5;
    private static final String RESOURCE = "/dev/unet4j/cli/demo-digits/";
    private static final String MANIFEST = "SHA256SUMS";

    private DemoModel() {
    }

    /** Whether {@code configJson} is the demo model's config.json byte for byte (copies and quantized versions). */
    static boolean isDemoConfig(byte[] configJson) {
        try {
            return sha256(configJson).equals(parseManifest(new String(resource(MANIFEST), StandardCharsets.UTF_8)).get("config.json"));
        } catch (IOException e) {
            return false;
        }
    }

    /** The cache root for extracted models. */
    static Path cacheRoot() {
        String p = System.getProperty("unet4j.cache");
        if (p == null || p.isBlank()) p = System.getenv("UNET4J_CACHE");
        if (p != null && !p.isBlank()) return Path.of(p);
        return Path.of(System.getProperty("user.home"), ".cache", "unet4j");
    }

    /** The extracted, verified demo model folder. */
    static Path folder() {
        return extract(NAME, RESOURCE);
    }

    /**
     * Extracts the bundled model {@code name} whose files (listed with their paths in its {@code SHA256SUMS}) lie under
     * the classpath folder {@code resourceDir}; see the class comment.
     */
    static Path extract(String name, String resourceDir) {
        try {
            byte[] manifestBytes = resource(resourceDir, MANIFEST);
            Map<String, String> expected = parseManifest(new String(manifestBytes, StandardCharsets.UTF_8));
            Path root = cacheRoot();
            Path target = root.resolve(name + "-" + sha256(manifestBytes).substring(0, 12));
            if (Files.isDirectory(target) && verify(target, expected)) return target;
            Files.createDirectories(root);
            Path tmp = Files.createTempDirectory(root, "." + name + "-");
            try {
                for (String file : expected.keySet()) {
                    byte[] data = resource(resourceDir, file);
                    String actual = sha256(data);
                    if (!actual.equals(expected.get(file))) {
                        throw new IOException("bundled demo model file " + file + " is damaged (sha256 " + actual + ", expected "
                                + expected.get(file) + "); rebuild or re-download unet4j.jar");
                    }
                    Path dest = tmp.resolve(file).normalize();
                    if (!dest.startsWith(tmp)) throw new IOException("bad path in the bundled " + MANIFEST + ": " + file);
                    Files.createDirectories(dest.getParent());
                    Files.write(dest, data);
                }
                if (Files.isDirectory(target)) deleteTree(target); // present but damaged
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException raced) {
                    // another process finished first; its copy is used if it verifies
                    if (!verify(target, expected)) throw new IOException("cannot install the demo model into " + target);
                }
            } finally {
                if (Files.exists(tmp)) deleteTree(tmp);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the demo model " + name + " to " + cacheRoot(), e);
        }
    }

    private static boolean verify(Path dir, Map<String, String> expected) throws IOException {
        for (Map.Entry<String, String> e : expected.entrySet()) {
            Path f = dir.resolve(e.getKey());
            if (!Files.isRegularFile(f) || !sha256(Files.readAllBytes(f)).equals(e.getValue())) return false;
        }
        return true;
    }

    private static Map<String, String> parseManifest(String text) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : text.split("\\R")) {
            if (line.isBlank()) continue;
            String[] parts = line.strip().split("\\s+\\*?", 2);
            if (parts.length != 2 || parts[0].length() != 64) throw new IOException("bad line in the demo model's " + MANIFEST + ": " + line);
            m.put(parts[1], parts[0]);
        }
        if (m.isEmpty()) throw new IOException("the demo model's " + MANIFEST + " is empty");
        return m;
    }

    private static byte[] resource(String name) throws IOException {
        return resource(RESOURCE, name);
    }

    private static byte[] resource(String dir, String name) throws IOException {
        try (InputStream in = DemoModel.class.getResourceAsStream(dir + name)) {
            if (in == null) throw new IOException("the demo model file " + name + " is missing from the classpath (" + dir + ")");
            return in.readAllBytes();
        }
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
