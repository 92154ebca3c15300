package dev.unet4j.caching.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code cache-calibration.json}: residual magnitude ratio curves ({@link MagnitudeSchedule}), one entry per model +
 * call timesteps (the scheduler and the step count as the calls they make). Read whole, written whole and atomically
 * (a temporary file in the same folder moved over the old one), so a reader never sees half a file.
 *
 * <pre>{"format": "unet4j-cache-calibration/1",
 *  "entries": [{"model": "...", "timesteps": [981, 961, ...], "ratios": [1, 0.98, ...]}]}</pre>
 */
final class CalibrationFile {
    static final String FORMAT = "unet4j-cache-calibration/1";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One calibrated curve. */
    record Entry(String model, double[] timesteps, double[] ratios) {
        boolean matches(String m, double[] ts) {
            return model.equals(m) && Arrays.equals(timesteps, ts);
        }
    }

    private CalibrationFile() {
    }

    /** The entries of {@code file}; none when it does not exist. A file that cannot be read as one is an error naming it. */
    static List<Entry> read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read cache calibration file " + file + ": " + e.getMessage(), e);
        }
        try {
            JsonNode root = JSON.readTree(bytes);
            if (root == null || !root.isObject()) throw corrupt(file, "not a JSON object");
            if (!FORMAT.equals(root.path("format").asText(null))) {
                throw corrupt(file, "\"format\" is " + root.get("format") + ", expected \"" + FORMAT + "\"");
            }
            JsonNode entries = root.get("entries");
            if (entries == null || !entries.isArray()) throw corrupt(file, "\"entries\" is not an array");
            List<Entry> out = new ArrayList<>();
            int i = 0;
            for (JsonNode e : entries) {
                String where = "entries[" + i++ + "]";
                JsonNode model = e.get("model");
                if (model == null || !model.isTextual()) throw corrupt(file, where + ".model is not a string");
                double[] ts = numbers(file, e, where, "timesteps"), ratios = numbers(file, e, where, "ratios");
                if (ts.length != ratios.length || ts.length == 0) {
                    throw corrupt(file, where + " has " + ts.length + " timesteps and " + ratios.length + " ratios (one per call expected)");
                }
                for (double r : ratios) if (!(r > 0) || Double.isInfinite(r)) throw corrupt(file, where + ".ratios holds " + r + " (positive finite expected)");
                out.add(new Entry(model.asText(), ts, ratios));
            }
            return out;
        } catch (JsonProcessingException e) {
            throw corrupt(file, "not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read cache calibration file " + file + ": " + e.getMessage(), e);
        }
    }

    private static double[] numbers(Path file, JsonNode e, String where, String key) {
        JsonNode a = e.get(key);
        if (a == null || !a.isArray()) throw corrupt(file, where + "." + key + " is not an array");
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            if (!a.get(i).isNumber()) throw corrupt(file, where + "." + key + "[" + i + "] is not a number");
            out[i] = a.get(i).asDouble();
        }
        return out;
    }

    private static IllegalStateException corrupt(Path file, String what) {
        return new IllegalStateException("corrupt cache calibration file " + file + ": " + what
                + "; delete it to calibrate again");
    }

    /** Writes {@code entries} to {@code file} atomically. */
    static void write(Path file, List<Entry> entries) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        ArrayNode list = root.putArray("entries");
        for (Entry e : entries) {
            ObjectNode o = list.addObject();
            o.put("model", e.model());
            ArrayNode ts = o.putArray("timesteps"), rs = o.putArray("ratios");
            for (double t : e.timesteps()) ts.add(t);
            for (double r : e.ratios()) rs.add(r);
        }
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, ".cache-calibration", ".tmp");
            Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write cache calibration file " + file + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write already failed and says so
                }
            }
        }
    }
}
