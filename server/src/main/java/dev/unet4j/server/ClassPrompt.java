package dev.unet4j.server;

import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a class label from a prompt for class-conditional models: a number ({@code "7"}, {@code "class 7"}) or an
 * English digit word ({@code "a handwritten seven"}). The prompt must name exactly one class.
 */
final class ClassPrompt {
    private static final List<String> WORDS = List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine");
    private static final Pattern TOKEN = Pattern.compile("[a-z]+|\\d+");

    private ClassPrompt() {
    }

    /** The class in {@code prompt}, one of {@code 0..classes-1} except {@code nullClass}. */
    static int parse(String prompt, int classes, int nullClass) {
        TreeSet<Integer> found = new TreeSet<>();
        Matcher m = TOKEN.matcher(prompt.toLowerCase(Locale.ROOT));
        while (m.find()) {
            String t = m.group();
            if (Character.isDigit(t.charAt(0))) {
                found.add(t.length() > 6 ? Integer.MAX_VALUE : Integer.parseInt(t));
            } else if (WORDS.contains(t)) {
                found.add(WORDS.indexOf(t));
            }
        }
        String valid = "name one class 0.." + (classes - 1) + (nullClass >= 0 ? " except the null class " + nullClass : "")
                + " as a number or a word, e.g. \"7\" or \"a handwritten seven\"";
        if (found.isEmpty()) throw ApiException.badField("prompt", "no class label in \"" + prompt + "\"; " + valid);
        if (found.size() > 1) throw ApiException.badField("prompt", "more than one class label " + found + " in \"" + prompt + "\"; " + valid);
        int k = found.first();
        if (k >= classes || k == nullClass) throw ApiException.badField("prompt", "class " + (k == Integer.MAX_VALUE ? "number" : k) + " is out of range; " + valid);
        return k;
    }
}
