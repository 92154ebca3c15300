package dev.unet4j.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
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
 * One model bundled as classpath resources under {@code resourceDir}, its files listed with their SHA-256 in
 * {@code SHA256SUMS}. The loaders memory-map a folder, so it is extracted once to
 * {@code <cache>/<name>-<sha256 prefix of its manifest>/}: written to a temporary sibling folder, every file checked
 * against the manifest, then renamed into place, so a crash never leaves a half-written model and two processes
 * extracting at once both end up with a verified copy. An existing copy is re-verified on every use (milliseconds
 * for the 7 MB digits model) and replaced if it was damaged.
 */
final class BundledModel {
    private static final String MANIFEST = "SHA256SUMS";

    private final String name;
    private final String resourceDir;

    BundledModel(String name, String resourceDir) {
        this.name = name;
        this.resourceDir = resourceDir;
    }

    /** The cache root: {@code -Dunet4j.cache}, else {@code $UNET4J_CACHE}, else {@code ~/.cache/unet4j}. */
    static Path cacheRoot() {
        String p = System.getProperty("unet4j.cache");
        if (p == null || p.isBlank()) p = System.getenv("UNET4J_CACHE");
        if (p != null && !p.isBlank()) return Path.of(p);
        return Path.of(System.getProperty("user.home"), ".cache", "unet4j");
    }

    /** Whether {@code content} is this model's {@code file} byte for byte. */
    boolean isFile(String file, byte[] content) {
        try {
            return sha256(content).equals(parseManifest(new String(resource(MANIFEST), StandardCharsets.UTF_8)).get(file));
        } catch (IOException e) {
            return false;
        }
    }

    /** The extracted, verified folder; see the class comment. */
    Path folder() {
        try {
            byte[] manifestBytes = resource(MANIFEST);
            Map<String, String> expected = parseManifest(new String(manifestBytes, StandardCharsets.UTF_8));
            Path root = cacheRoot();
            Path target = root.resolve(name + "-" + sha256(manifestBytes).substring(0, 12));
            if (Files.isDirectory(target) && verify(target, expected)) return target;
            Files.createDirectories(root);
            Path tmp = Files.createTempDirectory(root, "." + name + "-");
            try {
                for (String file : expected.keySet()) {
                    byte[] data = resource(file);
                    String actual = sha256(data);
                    if (!actual.equals(expected.get(file))) {
                        throw new IOException("bundled demo model file " + file + " is damaged (sha256 " + actual + ", expected "
                                + expected.get(file) + "); rebuild or re-download the unet4j-demo jar");
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

    private byte[] resource(String file) throws IOException {
        try (InputStream in = BundledModel.class.getResourceAsStream(resourceDir + file)) {
            if (in == null) throw new IOException("the demo model file " + file + " is missing from the classpath (" + resourceDir + ")");
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
