package dev.unet4j.core.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates a safetensors header against the file it came from, following the reference
 * implementation's rules: the tensors' byte ranges, sorted by offset, must tile the data region exactly (first at 0,
 * no gap, no overlap, last ending at the end of the file), and each range must hold exactly
 * {@code numel * dtype size} bytes.
 */
final class SafetensorsHeader {
    /**
     * Headers above 16 MiB are refused before anything is allocated. The format allows 100 MB, but parsing that
     * much JSON needs several times its size in heap (a 99 MB header took over 512 MB); real headers are far
     * smaller (SD 1.5's UNet: 1,700 tensors in about 150 kB), so 16 MiB is 100,000+ tensors.
     */
    static final long MAX_HEADER_BYTES = 16L << 20;
    static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    // Jackson's default caps (20 M chars per string, 50 k per name) are below the format's own
                    // 100 MB header limit, which already bounds everything.
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxStringLength((int) MAX_HEADER_BYTES).maxNameLength((int) MAX_HEADER_BYTES).build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS) // exact range checks on offsets and dims
            .build();

    final Map<String, TensorInfo> tensors; // header order
    final Map<String, String> metadata;    // header order, empty when absent

    private SafetensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Checks the 8-byte little-endian header length {@code n} against the file size; returns it as an int.
     * Done before the header is read so that a hostile length cannot drive an allocation.
     */
    static int checkHeaderLength(Path file, long fileSize, long n) throws SafetensorsException {
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new SafetensorsException(file, null, "header length " + Long.toUnsignedString(n)
                    + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes (16 MiB)");
        }
        if (n > fileSize - 8) {
            throw new SafetensorsException(file, null, "header length " + n + " runs past the end of the file ("
                    + fileSize + " bytes)");
        }
        return (int) n;
    }

    /** Parses {@code headerBytes} and validates it for a data region of {@code dataBytes} bytes. */
    static SafetensorsHeader parse(Path file, byte[] headerBytes, long dataBytes) throws SafetensorsException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(headerBytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file, null, "header is not valid UTF-8", e);
        }
        if (text.isEmpty() || text.charAt(0) != '{') {
            throw new SafetensorsException(file, null, "header does not start with '{' (not a JSON object)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file, null, "malformed header JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(file, null, "header JSON is not an object");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA_KEY)) {
                readMetadata(file, e.getValue(), metadata);
            } else {
                tensors.put(e.getKey(), readTensor(file, e.getKey(), e.getValue(), dataBytes));
            }
        }
        checkCoverage(file, tensors.values(), dataBytes);
        return new SafetensorsHeader(tensors, metadata);
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> out) throws SafetensorsException {
        if (node.isNull()) return;
        if (!node.isObject()) throw new SafetensorsException(file, null, METADATA_KEY + " is not an object of strings");
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(file, null, METADATA_KEY + " entry '" + e.getKey()
                        + "' is not a string: " + e.getValue().getNodeType());
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo readTensor(Path file, String name, JsonNode node, long dataBytes)
            throws SafetensorsException {
        if (!node.isObject()) throw new SafetensorsException(file, name, "entry is not an object");
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsException(file, name, "missing or non-string \"dtype\"");
        }
        DType dtype = DType.fromSafetensorsName(dtypeNode.textValue()).orElseThrow(() -> new SafetensorsException(
                file, name, "unknown dtype \"" + dtypeNode.textValue() + "\""));
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) throw new SafetensorsException(file, name, "missing \"shape\" array");
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(file, name, shapeNode.get(i), "shape[" + i + "]");
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException overflow) {
                throw new SafetensorsException(file, name, "element count of shape " + shapeNode + " overflows");
            }
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw new SafetensorsException(file, name, "\"data_offsets\" must be an array [begin, end]");
        }
        long begin = nonNegativeLong(file, name, offsets.get(0), "data_offsets[0]");
        long end = nonNegativeLong(file, name, offsets.get(1), "data_offsets[1]");
        if (end < begin) throw new SafetensorsException(file, name, "data_offsets [" + begin + ", " + end + "] are reversed");
        if (end > dataBytes) {
            throw new SafetensorsException(file, name, "data_offsets [" + begin + ", " + end
                    + "] run past the data region of " + dataBytes + " bytes");
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel, dtype.byteSize());
        } catch (ArithmeticException overflow) {
            throw new SafetensorsException(file, name, "byte size of shape " + shapeNode + " overflows");
        }
        if (end - begin != expected) {
            throw new SafetensorsException(file, name, "holds " + (end - begin) + " bytes but " + dtype + " "
                    + shapeNode + " needs " + expected);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long nonNegativeLong(Path file, String name, JsonNode n, String what) throws SafetensorsException {
        if (n == null || !n.isIntegralNumber()) throw new SafetensorsException(file, name, what + " is not an integer: " + n);
        if (!n.canConvertToLong() || n.longValue() < 0) {
            throw new SafetensorsException(file, name, what + " out of range: " + n);
        }
        return n.longValue();
    }

    /** Sorted by offset, the ranges must tile [0, dataBytes) exactly. */
    private static void checkCoverage(Path file, java.util.Collection<TensorInfo> infos, long dataBytes)
            throws SafetensorsException {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expectedBegin = 0;
        String previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < expectedBegin) {
                throw new SafetensorsException(file, t.name(), "data_offsets [" + t.begin() + ", " + t.end()
                        + "] overlap tensor '" + previous + "' which ends at " + expectedBegin);
            }
            if (t.begin() > expectedBegin) {
                throw new SafetensorsException(file, t.name(), "gap of " + (t.begin() - expectedBegin)
                        + " unused bytes before data_offsets [" + t.begin() + ", " + t.end() + "]"
                        + (previous == null ? " (the first tensor must start at 0)" : " after tensor '" + previous + "'"));
            }
            expectedBegin = t.end();
            previous = t.name();
        }
        if (expectedBegin != dataBytes) {
            throw new SafetensorsException(file, null, (dataBytes - expectedBegin)
                    + " trailing bytes after the last tensor: the data region has " + dataBytes
                    + " bytes but the tensors cover " + expectedBegin);
        }
    }
}
