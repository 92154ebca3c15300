package dev.unet4j.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Structure-aware mutations of a safetensors file, for fuzzing what is built on the reader (checkpoint and LoRA
 * loaders): the header stays valid JSON with a correct length prefix, so the mutation reaches the code that
 * interprets names, dtypes and shapes. One mutation per call: a tensor renamed (a digit changed, a suffix swapped for
 * {@code suffixes}, a prefix cut), reshaped (dims permuted, split, merged, one set to an edge value), retyped, dropped,
 * duplicated under another name, its data poisoned with NaN or infinity, or its offsets shifted.
 */
public final class SafetensorsMutator {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] DTYPES = {"F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL", "F8_E4M3", "I16"};

    private final List<String> suffixes;

    /** @param suffixes name endings a renamed tensor may take (e.g. a format's factor names) */
    public SafetensorsMutator(List<String> suffixes) {
        this.suffixes = List.copyOf(suffixes);
    }

    /** {@code file} with one mutation; {@code what} receives a description of it. */
    public byte[] mutate(byte[] file, SplittableRandom rnd, StringBuilder what) throws IOException {
        long headerLen = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        ObjectNode header = (ObjectNode) JSON.readTree(new String(file, 8, (int) headerLen, StandardCharsets.UTF_8));
        byte[] data = java.util.Arrays.copyOfRange(file, 8 + (int) headerLen, file.length);
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = header.fieldNames(); it.hasNext(); ) {
            String n = it.next();
            if (!n.equals("__metadata__")) names.add(n);
        }
        String name = names.get(rnd.nextInt(names.size()));
        ObjectNode t = (ObjectNode) header.get(name);
        ArrayNode shape = (ArrayNode) t.get("shape");
        switch (rnd.nextInt(9)) {
            case 0 -> { // a digit of the name changed: a layer that does not exist, or another existing one
                String renamed = changeDigit(name, rnd);
                what.append("renamed ").append(name).append(" -> ").append(renamed);
                rename(header, name, renamed);
            }
            case 1 -> { // the suffix swapped
                String base = stripSuffix(name);
                String renamed = base + suffixes.get(rnd.nextInt(suffixes.size()));
                what.append("renamed ").append(name).append(" -> ").append(renamed);
                rename(header, name, renamed);
            }
            case 2 -> { // dims permuted, split or merged (same element count)
                List<Long> dims = new ArrayList<>();
                shape.forEach(d -> dims.add(d.asLong()));
                int op = rnd.nextInt(4);
                if (op == 0 && dims.size() > 1) java.util.Collections.swap(dims, 0, dims.size() - 1);
                else if (op == 1) dims.add(rnd.nextInt(dims.size() + 1), 1L);
                else if (op == 2 && dims.size() > 1) dims.add(0, dims.remove(0) * dims.remove(0));
                else java.util.Collections.reverse(dims);
                setShape(shape, dims);
                what.append("reshaped ").append(name).append(" to ").append(dims);
            }
            case 3 -> { // one dim set to an edge value (the offsets no longer fit unless it was already that)
                long[] edge = {0, 1, 2, 3, -1, 1L << 31, 1L << 40, Long.MAX_VALUE};
                if (shape.isEmpty()) shape.add(edge[rnd.nextInt(edge.length)]);
                else shape.set(rnd.nextInt(shape.size()), JSON.getNodeFactory().numberNode(edge[rnd.nextInt(edge.length)]));
                what.append("dim of ").append(name).append(" -> ").append(shape);
            }
            case 4 -> { // retyped
                String dt = DTYPES[rnd.nextInt(DTYPES.length)];
                what.append("retyped ").append(name).append(" ").append(t.get("dtype").asText()).append(" -> ").append(dt);
                t.put("dtype", dt);
            }
            case 5 -> {
                what.append("dropped ").append(name);
                header.remove(name);
            }
            case 6 -> { // the same data under another (possibly existing) name
                String other = names.get(rnd.nextInt(names.size()));
                String copy = stripSuffix(other) + name.substring(stripSuffix(name).length());
                what.append("copied ").append(name).append(" as ").append(copy);
                header.set(copy, t.deepCopy());
            }
            case 7 -> { // NaN or infinity written into one element of a float tensor
                ArrayNode off = (ArrayNode) t.get("data_offsets");
                long begin = off.get(0).asLong(), end = off.get(1).asLong();
                String dt = t.get("dtype").asText();
                int size = dt.equals("F32") ? 4 : dt.equals("F16") || dt.equals("BF16") ? 2 : 0;
                if (size > 0 && end > begin) {
                    long at = begin + (rnd.nextLong(end - begin) / size) * size;
                    boolean nan = rnd.nextBoolean();
                    ByteBuffer bb = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
                    if (size == 4) bb.putFloat((int) at, nan ? Float.NaN : Float.NEGATIVE_INFINITY);
                    else bb.putShort((int) at, (short) (dt.equals("F16") ? (nan ? 0x7E00 : 0x7C00) : (nan ? 0x7FC0 : 0x7F80)));
                    what.append(nan ? "NaN" : "infinity").append(" at byte ").append(at - begin).append(" of ").append(name);
                } else {
                    what.append("nothing (").append(name).append(" is ").append(dt).append(")");
                }
            }
            default -> { // offsets shifted
                ArrayNode off = (ArrayNode) t.get("data_offsets");
                int which = rnd.nextInt(2);
                long delta = new long[] {-4, -2, -1, 1, 2, 4, 1L << 32}[rnd.nextInt(7)];
                off.set(which, JSON.getNodeFactory().numberNode(off.get(which).asLong() + delta));
                what.append("offsets of ").append(name).append(" -> ").append(off);
            }
        }
        byte[] h = JSON.writeValueAsBytes(header);
        byte[] out = new byte[8 + h.length + data.length];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length);
        System.arraycopy(h, 0, out, 8, h.length);
        System.arraycopy(data, 0, out, 8 + h.length, data.length);
        return out;
    }

    private String stripSuffix(String name) {
        for (String s : suffixes) if (name.endsWith(s)) return name.substring(0, name.length() - s.length());
        int dot = name.lastIndexOf('.');
        return dot < 0 ? name : name.substring(0, dot);
    }

    private static String changeDigit(String name, SplittableRandom rnd) {
        List<Integer> digits = new ArrayList<>();
        for (int i = 0; i < name.length(); i++) if (Character.isDigit(name.charAt(i))) digits.add(i);
        if (digits.isEmpty()) return name + "_9";
        int at = digits.get(rnd.nextInt(digits.size()));
        return name.substring(0, at) + (char) ('0' + rnd.nextInt(10)) + name.substring(at + 1);
    }

    private static void rename(ObjectNode header, String from, String to) {
        // keep the order (a LinkedHashMap underneath): rebuild with the one key replaced
        List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
        header.fields().forEachRemaining(entries::add);
        header.removeAll();
        for (Map.Entry<String, JsonNode> e : entries) header.set(e.getKey().equals(from) ? to : e.getKey(), e.getValue());
    }

    private static void setShape(ArrayNode shape, List<Long> dims) {
        shape.removeAll();
        dims.forEach(shape::add);
    }
}
