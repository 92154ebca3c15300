package dev.unet4j.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * transformers' {@code tokens_trie.split} plus the strip rules of {@code PreTrainedTokenizer.tokenize}: the text is cut
 * at every occurrence of an added token (the longest one starting at the earliest position), and each added token
 * with {@code lstrip}/{@code rstrip} trims the whitespace of its neighbours.
 */
final class AddedTokenSplitter {
    /** A piece of the text: {@code id >= 0} for an added token, -1 for text that goes through BPE. */
    record Piece(String text, int id) {
    }

    private final List<AddedToken> tokens; // longest first
    private final Map<String, Integer> ids;

    AddedTokenSplitter(List<AddedToken> tokens, Map<String, Integer> ids) {
        List<AddedToken> sorted = new ArrayList<>(tokens);
        sorted.sort((a, b) -> Integer.compare(b.content().length(), a.content().length()));
        this.tokens = List.copyOf(sorted);
        this.ids = Map.copyOf(ids);
    }

    List<Piece> split(String text) {
        List<Piece> pieces = new ArrayList<>();
        List<AddedToken> matched = new ArrayList<>(); // per piece, null for text
        int start = 0;
        for (int i = 0; i < text.length(); ) {
            AddedToken hit = match(text, i);
            if (hit == null) {
                i++;
                continue;
            }
            if (i > start) {
                pieces.add(new Piece(text.substring(start, i), -1));
                matched.add(null);
            }
            pieces.add(new Piece(hit.content(), ids.get(hit.content())));
            matched.add(hit);
            i += hit.content().length();
            start = i;
        }
        if (start < text.length()) {
            pieces.add(new Piece(text.substring(start), -1));
            matched.add(null);
        }
        for (int i = 0; i < pieces.size(); i++) {
            AddedToken t = matched.get(i);
            if (t == null) continue;
            if (t.rstrip() && i + 1 < pieces.size() && matched.get(i + 1) == null) {
                pieces.set(i + 1, new Piece(PythonText.lstrip(pieces.get(i + 1).text()), -1));
            }
            if (t.lstrip() && i > 0 && matched.get(i - 1) == null) {
                pieces.set(i - 1, new Piece(PythonText.rstrip(pieces.get(i - 1).text()), -1));
            }
        }
        return pieces;
    }

    private AddedToken match(String text, int at) {
        for (AddedToken t : tokens) {
            if (text.startsWith(t.content(), at)) return t;
        }
        return null;
    }
}
