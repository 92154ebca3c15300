package dev.unet4j.text;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * AUTOMATIC1111's prompt emphasis ({@code parse_prompt_attention} of stable-diffusion-webui):
 * <ul>
 *   <li>{@code (text)} multiplies the weight of {@code text} by 1.1, {@code [text]} by 1/1.1, nested brackets
 *       multiply;</li>
 *   <li>{@code (text:1.5)} multiplies by the given number;</li>
 *   <li>{@code \(} {@code \)} {@code \[} {@code \]} {@code \\} are literal characters;</li>
 *   <li>unclosed brackets apply to the rest of the prompt, unmatched closing brackets are text;</li>
 *   <li>neighbouring pieces of equal weight are merged; an empty prompt is one empty piece of weight 1.</li>
 *   <li>{@code BREAK} (a whole word, in upper case, outside brackets) is a {@link Piece#isBreak() break piece}: the
 *       encoder starts a new 75-token window there.</li>
 * </ul>
 */
public final class PromptWeights {
    /** A run of prompt text and its weight; {@code ("BREAK", -1)} marks a break, as in the webui. */
    public record Piece(String text, double weight) {
        public boolean isBreak() {
            return weight == -1 && text.equals("BREAK");
        }
    }

    private static final Pattern ATTENTION = Pattern.compile(
            "\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\[|:\\s*([+-]?[.\\d]+)\\s*\\)|\\)|]|[^\\\\()\\[\\]:]+|:",
            Pattern.UNICODE_CHARACTER_CLASS);
    /** {@code re_break} of the webui. */
    private static final Pattern BREAK = Pattern.compile("\\s*\\bBREAK\\b\\s*", Pattern.UNICODE_CHARACTER_CLASS);
    /**
     * Deepest bracket nesting accepted. Prompts are untrusted and every open bracket is a pass over the pieces after
     * it: 32,768 unclosed {@code (a} took 36 s and gave the text an infinite weight.
     */
    public static final int MAX_NESTING = 256;
    private static final double ROUND = 1.1;
    private static final double SQUARE = 1 / 1.1;

    private PromptWeights() {
    }

    /** The pieces of {@code prompt}. */
    public static List<Piece> parse(String prompt) {
        if (prompt == null) throw new IllegalArgumentException("prompt is null");
        List<StringBuilder> texts = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        List<Integer> round = new ArrayList<>(), square = new ArrayList<>();
        Matcher m = ATTENTION.matcher(prompt);
        while (m.find()) {
            String text = m.group();
            String weight = m.group(1);
            if (text.startsWith("\\")) {
                texts.add(new StringBuilder(text.substring(1)));
                weights.add(1.0);
            } else if (text.equals("(") || text.equals("[")) {
                if (round.size() + square.size() == MAX_NESTING) {
                    throw new IllegalArgumentException("prompt emphasis nests more than " + MAX_NESTING
                            + " brackets (at character " + m.start() + "); escape literal brackets as \\( and \\[");
                }
                (text.equals("(") ? round : square).add(texts.size());
            } else if (weight != null && !round.isEmpty()) {
                multiply(weights, round.remove(round.size() - 1), number(weight));
            } else if (text.equals(")") && !round.isEmpty()) {
                multiply(weights, round.remove(round.size() - 1), ROUND);
            } else if (text.equals("]") && !square.isEmpty()) {
                multiply(weights, square.remove(square.size() - 1), SQUARE);
            } else {
                String[] parts = BREAK.split(text, -1);
                for (int i = 0; i < parts.length; i++) {
                    if (i > 0) {
                        texts.add(new StringBuilder("BREAK"));
                        weights.add(-1.0);
                    }
                    texts.add(new StringBuilder(parts[i]));
                    weights.add(1.0);
                }
            }
        }
        for (int pos : round) multiply(weights, pos, ROUND);
        for (int pos : square) multiply(weights, pos, SQUARE);
        if (texts.isEmpty()) return List.of(new Piece("", 1.0));
        List<Piece> out = new ArrayList<>();
        StringBuilder run = texts.get(0);
        double w = weights.get(0);
        for (int i = 1; i < texts.size(); i++) {
            if (weights.get(i) == w) {
                run.append(texts.get(i));
            } else {
                out.add(new Piece(run.toString(), w));
                run = texts.get(i);
                w = weights.get(i);
            }
        }
        out.add(new Piece(run.toString(), w));
        for (Piece p : out) {
            if (!p.isBreak() && !Float.isFinite((float) p.weight())) {
                String text = p.text().length() > 40 ? p.text().substring(0, 40) + "..." : p.text();
                throw new IllegalArgumentException("prompt emphasis gives \"" + text + "\" the weight " + p.weight()
                        + ", beyond float32 (at most " + Float.MAX_VALUE + ")");
            }
        }
        return out;
    }

    /**
     * A1111's original emphasis on one window {@code z} ({@code [T, C]} at {@code offset} of {@code v}): every token row
     * times its weight, then everything times {@code mean_before / mean_after}.
     */
    public static void emphasize(float[] v, int offset, int tokens, int width, float[] weights) {
        if (weights.length != tokens) throw new IllegalArgumentException(weights.length + " weights for " + tokens + " tokens");
        double before = 0, after = 0;
        for (int i = 0; i < tokens * width; i++) before += v[offset + i];
        for (int j = 0; j < tokens; j++) {
            for (int c = 0; c < width; c++) {
                int i = offset + j * width + c;
                v[i] = v[i] * weights[j];
                after += v[i];
            }
        }
        float rescale = (float) (before / after);
        for (int i = 0; i < tokens * width; i++) v[offset + i] *= rescale;
    }

    private static void multiply(List<Double> weights, int from, double factor) {
        for (int i = from; i < weights.size(); i++) weights.set(i, weights.get(i) * factor);
    }

    /** Python's {@code float()} of {@code [+-]?[.\d]+} (any Unicode decimal digit). */
    private static double number(String s) {
        StringBuilder ascii = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            int d = Character.digit(cp, 10);
            ascii.append(d >= 0 ? (char) ('0' + d) : (char) cp);
        }
        try {
            return Double.parseDouble(ascii.toString());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("prompt emphasis weight \"" + s + "\" is not a number (write e.g. (word:1.2))");
        }
    }
}
