package dev.unet4j.e2e.reliability;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.core.checkpoint.ShardFolders;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.WeightMismatchException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static dev.unet4j.core.checkpoint.ShardFolders.INDEX;
import static dev.unet4j.core.checkpoint.ShardFolders.shardName;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * User-supplied model folders: seeded mutations of the fixtures' {@code config.json} and of a shard index, loaded
 * through {@link UNetModel#load}. Only the library's documented exceptions may escape: {@link java.io.IOException}
 * (ModelException, SafetensorsException), {@link IllegalArgumentException} (ConfigException),
 * {@link UnsupportedConfigException} and {@link WeightMismatchException}; never an OutOfMemoryError, a native crash
 * or a leak (native memory returns to its baseline). {@code -Dunet4j.fuzz.iterations=N} runs longer campaigns.
 */
class HostileModelFilesTest {
    private static final long SEED = 0xc0ff1eL;
    private static final String[] HOSTILE_NUMBERS = {"1073741824", "-1", "0", "2147483647", "4294967296", "1e308",
            "-2147483648", "3", "65536", "1.5", "null", "\"x\"", "[]", "{}", "true"};

    private static DnnlKernels kernels;

    @TempDir
    Path dir;

    @BeforeAll
    static void kernels() {
        kernels = new DnnlKernels();
    }

    @AfterAll
    static void close() {
        kernels.close();
    }

    /** Loads {@code folder}; returns the exception if it is a documented one, fails otherwise. */
    private static Throwable loadExpectingDocumented(Path folder, String what) {
        long live = NativeBuffer.liveBytes();
        try (UNetModel m = UNetModel.load(folder, LoadOptions.of(kernels))) {
            assertTrue(m.parameterCount() > 0);
            return null;
        } catch (IOException | UnsupportedConfigException | WeightMismatchException | IllegalArgumentException expected) {
            assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank(), what + ": empty message");
            return expected;
        } catch (Throwable t) {
            throw new AssertionError(what + " escaped with " + t, t);
        } finally {
            assertEquals(live, NativeBuffer.liveBytes(), what + ": native memory not returned");
        }
    }

    private static int iterations(int normal) {
        return Integer.getInteger("unet4j.fuzz.iterations", normal);
    }

    // ------------------------------------------------------------------ config.json

    @Test
    void mutatedConfigsFailOnlyWithDocumentedExceptions() throws IOException {
        List<Path> sources = List.of(Fixtures.fixture("unet2d-ddpm-tiny"), Fixtures.fixture("unet2d-cond-sd-tiny"),
                Fixtures.model("digits-16"));
        List<Path> folders = new ArrayList<>();
        List<String> configs = new ArrayList<>();
        for (Path s : sources) {
            Path f = Files.createDirectories(dir.resolve(s.getFileName()));
            Files.copy(s.resolve("diffusion_pytorch_model.safetensors"), f.resolve("diffusion_pytorch_model.safetensors"));
            folders.add(f);
            configs.add(Files.readString(s.resolve("config.json")));
        }
        SplittableRandom rnd = new SplittableRandom(SEED);
        int n = iterations(60), loaded = 0, refused = 0;
        for (int it = 0; it < n; it++) {
            int k = rnd.nextInt(folders.size());
            String mutated = mutateJson(configs.get(k), rnd);
            Files.writeString(folders.get(k).resolve("config.json"), mutated);
            Throwable t = loadExpectingDocumented(folders.get(k), "config iteration " + it + " (seed " + SEED + ")");
            if (t == null) loaded++;
            else refused++;
        }
        assertTrue(refused > n / 3 && loaded > 0, "loaded " + loaded + ", refused " + refused);
    }

    /** block_out_channels of 2^30 (and other huge widths) are refused from the weights' shapes, before allocating. */
    @Test
    void hugeWidthsAreRefusedBeforeAllocation() throws IOException {
        Path src = Fixtures.fixture("unet2d-ddpm-tiny");
        Path f = Files.createDirectories(dir.resolve("huge"));
        Files.copy(src.resolve("diffusion_pytorch_model.safetensors"), f.resolve("diffusion_pytorch_model.safetensors"));
        String cfg = Files.readString(src.resolve("config.json"));
        String[] hostile = {
                cfg.replaceFirst("\"block_out_channels\": \\[\\s*32", "\"block_out_channels\": [1073741824"),
                cfg.replaceFirst("\"block_out_channels\": \\[\\s*32,\\s*64,\\s*64", "\"block_out_channels\": [32, 64, 1073741824"),
                cfg.replace("\"in_channels\": 3", "\"in_channels\": 1073741824"),
                cfg.replace("\"layers_per_block\": 2", "\"layers_per_block\": 100000"),
                cfg.replace("\"num_class_embeds\": null", "\"num_class_embeds\": 1000000000"),
        };
        for (String h : hostile) {
            assertTrue(!h.equals(cfg), "the replacement applied");
            Files.writeString(f.resolve("config.json"), h);
            long t0 = System.nanoTime();
            Throwable t = loadExpectingDocumented(f, h);
            assertTrue(t != null, "hostile config loaded");
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "refusal took " + (System.nanoTime() - t0) / 1e6 + " ms");
            assertTrue(t instanceof WeightMismatchException || t instanceof UnsupportedConfigException || t instanceof IllegalArgumentException,
                    "refused as a config/weights mismatch: " + t);
        }
    }

    // ------------------------------------------------------------------ shard index

    @Test
    void mutatedShardIndexesFailOnlyWithDocumentedExceptions() throws IOException {
        Path src = Fixtures.fixture("unet2d-ddpm-tiny");
        Path folder = sharded(dir.resolve("sharded"), src, 3);
        assertEquals(null, loadExpectingDocumented(folder, "the unmutated sharded folder"), "the sharded copy loads");
        String index = Files.readString(folder.resolve(INDEX));
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int n = iterations(80), refused = 0;
        for (int it = 0; it < n; it++) {
            String mutated = rnd.nextInt(3) == 0 ? mutateBytes(index, rnd) : mutateIndex(index, rnd);
            Files.writeString(folder.resolve(INDEX), mutated);
            if (loadExpectingDocumented(folder, "index iteration " + it + " (seed " + SEED + "): " + abbreviate(mutated)) != null) refused++;
        }
        assertTrue(refused > n / 2, "refused " + refused + " of " + n);
    }

    @Test
    void shardIndexEntriesLeavingTheFolderAreRefused() throws IOException {
        Path folder = sharded(dir.resolve("escape"), Fixtures.fixture("unet2d-ddpm-tiny"), 2);
        Files.copy(folder.resolve(shardName(1, 2)), dir.resolve("outside.safetensors"));
        String index = Files.readString(folder.resolve(INDEX));
        for (String target : new String[]{"../outside.safetensors", dir.resolve("outside.safetensors").toString(), "", "."}) {
            Files.writeString(folder.resolve(INDEX), index.replace(shardName(1, 2), target.replace("\\", "\\\\")));
            Throwable t = loadExpectingDocumented(folder, "index naming " + target);
            assertTrue(t instanceof ModelException && t.getMessage().contains("not a file name"), target + ": " + t);
        }
    }

    @Test
    void symlinkedWeightsOutsideTheFolderAreRefusedByUNetModelLoad() throws IOException {
        Path src = Fixtures.fixture("unet2d-ddpm-tiny");
        Path outside = Files.createDirectories(dir.resolve("elsewhere"));
        Files.copy(src.resolve("diffusion_pytorch_model.safetensors"), outside.resolve("w.safetensors"));
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.copy(src.resolve("config.json"), model.resolve("config.json"));
        Files.createSymbolicLink(model.resolve("diffusion_pytorch_model.safetensors"), outside.resolve("w.safetensors"));
        ModelException e = assertThrows(ModelException.class, () -> UNetModel.load(model, LoadOptions.of(kernels)));
        assertTrue(e.getMessage().contains("outside the model root"), e.getMessage());
        // a config.json link leaving the folder too
        Files.delete(model.resolve("diffusion_pytorch_model.safetensors"));
        Files.copy(src.resolve("diffusion_pytorch_model.safetensors"), model.resolve("diffusion_pytorch_model.safetensors"));
        Files.copy(src.resolve("config.json"), outside.resolve("config.json"));
        Files.delete(model.resolve("config.json"));
        Files.createSymbolicLink(model.resolve("config.json"), outside.resolve("config.json"));
        e = assertThrows(ModelException.class, () -> UNetModel.load(model, LoadOptions.of(kernels)));
        assertTrue(e.getMessage().contains("outside the model root"), e.getMessage());
    }

    // ------------------------------------------------------------------ mutations

    /** JSON-aware edits: a value replaced by a hostile number or another type, digits changed, keys dropped. */
    private static String mutateJson(String json, SplittableRandom rnd) {
        String out = json;
        int edits = 1 + rnd.nextInt(3);
        for (int e = 0; e < edits; e++) {
            switch (rnd.nextInt(5)) {
                case 0, 1 -> { // replace one value after a ':' or inside a list
                    List<int[]> spans = valueSpans(out);
                    if (spans.isEmpty()) break;
                    int[] s = spans.get(rnd.nextInt(spans.size()));
                    out = out.substring(0, s[0]) + HOSTILE_NUMBERS[rnd.nextInt(HOSTILE_NUMBERS.length)] + out.substring(s[1]);
                }
                case 2 -> { // change a digit
                    int p = rnd.nextInt(out.length());
                    for (int i = p; i < out.length(); i++) {
                        if (Character.isDigit(out.charAt(i))) {
                            out = out.substring(0, i) + (char) ('0' + rnd.nextInt(10)) + out.substring(i + 1);
                            break;
                        }
                    }
                }
                case 3 -> { // drop one "key": value line
                    String[] lines = out.split("\n");
                    int l = 1 + rnd.nextInt(Math.max(1, lines.length - 2));
                    if (lines[l].contains("\":") && !lines[l].contains("[") && !lines[l].contains("_class_name")) {
                        lines[l] = "";
                        out = String.join("\n", lines).replaceAll(",(\\s*)}", "$1}");
                    }
                }
                default -> out = mutateBytes(out, rnd);
            }
        }
        return out;
    }

    /** [start, end) of every scalar value (numbers, strings, literals) after ':' or ',' or '['. */
    private static List<int[]> valueSpans(String s) {
        List<int[]> spans = new ArrayList<>();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != ':' && c != '[' && c != ',') continue;
            int a = i + 1;
            while (a < s.length() && Character.isWhitespace(s.charAt(a))) a++;
            if (a >= s.length() || s.charAt(a) == '[' || s.charAt(a) == '{') continue;
            int b = a;
            if (s.charAt(a) == '"') {
                b = s.indexOf('"', a + 1) + 1;
                if (b <= 0 || (b < s.length() && s.charAt(b) == ':') || nextNonSpace(s, b) == ':') continue; // a key
            } else {
                while (b < s.length() && ",]}\n".indexOf(s.charAt(b)) < 0) b++;
            }
            spans.add(new int[]{a, b});
        }
        return spans;
    }

    private static char nextNonSpace(String s, int from) {
        for (int i = from; i < s.length(); i++) if (!Character.isWhitespace(s.charAt(i))) return s.charAt(i);
        return 0;
    }

    private static String mutateBytes(String s, SplittableRandom rnd) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int p = rnd.nextInt(b.length);
        switch (rnd.nextInt(3)) {
            case 0 -> b[p] = (byte) "{}[],:\"0123456789 -e.n/\\".charAt(rnd.nextInt(24));
            case 1 -> b[p] ^= (byte) (1 << rnd.nextInt(8));
            default -> {
                int len = Math.min(b.length - p, 1 + rnd.nextInt(8));
                byte[] c = new byte[b.length - len];
                System.arraycopy(b, 0, c, 0, p);
                System.arraycopy(b, p + len, c, p, b.length - p - len);
                b = c;
            }
        }
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    /** Index edits: a tensor moved to another (or a missing, or an escaping) shard, dropped, added, or mistyped. */
    private static String mutateIndex(String index, SplittableRandom rnd) {
        String[] lines = index.split("\n");
        List<Integer> entries = new ArrayList<>();
        for (int i = 0; i < lines.length; i++) if (lines[i].contains(".safetensors\"")) entries.add(i);
        int l = entries.get(rnd.nextInt(entries.size()));
        String line = lines[l];
        int colon = line.lastIndexOf("\" : \"") >= 0 ? line.lastIndexOf("\" : \"") + 4 : line.lastIndexOf(": \"") + 2;
        String key = line.substring(0, colon);
        String comma = line.endsWith(",") ? "," : "";
        String[] targets = {"\"" + shardName(1, 3) + "\"", "\"" + shardName(2, 3) + "\"", "\"" + shardName(4, 3) + "\"",
                "\"../" + shardName(1, 3) + "\"", "\"/etc/passwd\"", "\"\"", "1", "null", "[\"" + shardName(1, 3) + "\"]",
                "\"config.json\"", "\"" + INDEX + "\""};
        switch (rnd.nextInt(4)) {
            case 0 -> lines[l] = "";
            case 1 -> lines[l] = line.replace("\"down_blocks", "\"extra_blocks").replace("\"up_blocks", "\"extra_up");
            case 2 -> lines[l] = lines[l] + (comma.isEmpty() ? "," : "") + "\n    \"" + "mid_block.fake\": \"" + shardName(rnd.nextInt(3) + 1, 3) + "\"" + comma;
            default -> lines[l] = key + targets[rnd.nextInt(targets.length)] + comma;
        }
        return String.join("\n", lines).replaceAll(",(\\s*)}", "$1}");
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    /** {@code dir} with {@code src}'s config and its weights dealt round-robin into {@code shards} shards + index. */
    static Path sharded(Path dir, Path src, int shards) throws IOException {
        return ShardFolders.sharded(dir, src.resolve("config.json"), src.resolve("diffusion_pytorch_model.safetensors"), shards);
    }
}
