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
 * </ul>
 * {@code BREAK} is not treated specially (it is ordinary text here).
 */
public final class PromptWeights {
    /** A run of prompt text and its weight. */
    public record Piece(String text, double weight) {
    }

    private static final Pattern ATTENTION = Pattern.compile(
            "\\\\\\(|\\\\\\)|\\\\\\[|\\\\]|\\\\\\\\|\\\\|\\(|\\[|:\\s*([+-]?[.\\d]+)\\s*\\)|\\)|]|[^\\\\()\\[\\]:]+|:",
            Pattern.UNICODE_CHARACTER_CLASS);
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
            } else if (text.equals("(")) {
                round.add(texts.size());
            } else if (text.equals("[")) {
                square.add(texts.size());
            } else if (weight != null && !round.isEmpty()) {
                multiply(weights, round.remove(round.size() - 1), number(weight));
            } else if (text.equals(")") && !round.isEmpty()) {
                multiply(weights, round.remove(round.size() - 1), ROUND);
            } else if (text.equals("]") && !square.isEmpty()) {
                multiply(weights, square.remove(square.size() - 1), SQUARE);
            } else {
                texts.add(new StringBuilder(text));
                weights.add(1.0);
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
        return out;
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
