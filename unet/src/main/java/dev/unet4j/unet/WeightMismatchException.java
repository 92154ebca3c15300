package dev.unet4j.unet;

import java.util.Arrays;
import java.util.List;

/**
 * A checkpoint does not fit the model its config describes. Lists every missing, mis-shaped and unexpected tensor at
 * once, with expected and found shapes.
 */
public final class WeightMismatchException extends RuntimeException {

    /**
     * One problem: {@code expected} null = unexpected tensor; {@code found} null = missing tensor; {@code values}
     * non-null = the shape fits but the values cannot be used (NaN or infinity, say which and where).
     */
    public record Problem(String name, long[] expected, long[] found, String values) {
        public Problem(String name, long[] expected, long[] found) {
            this(name, expected, found, null);
        }

        @Override
        public String toString() {
            if (values != null) return "non-finite " + name + " " + Arrays.toString(found) + ": " + values;
            if (found == null) return "missing    " + name + " (expected " + Arrays.toString(expected) + ")";
            if (expected == null) return "unexpected " + name + " " + Arrays.toString(found);
            return "mis-shaped " + name + ": expected " + Arrays.toString(expected) + ", found " + Arrays.toString(found);
        }
    }

    private final List<Problem> problems;

    public WeightMismatchException(String source, List<Problem> problems) {
        super(message(source, problems));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }

    private static String message(String source, List<Problem> problems) {
        StringBuilder sb = new StringBuilder("checkpoint ").append(source).append(" does not match the model config: ")
                .append(problems.size()).append(problems.size() == 1 ? " problem" : " problems");
        for (Problem p : problems) sb.append("\n  ").append(p);
        return sb.toString();
    }
}
