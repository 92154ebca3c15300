package dev.unet4j.text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * transformers' slow {@code CLIPTokenizer} (the class diffusers' Stable Diffusion pipelines load from
 * {@code tokenizer/}), on the path taken when {@code ftfy} is not installed:
 * <ol>
 *   <li>the prompt is cut at added tokens ({@code <|startoftext|>}, {@code <|endoftext|>}, the pad token — so with
 *       SD 2.x / SDXL's pad {@code "!"} every {@code !} becomes id 0 — and any other added token);</li>
 *   <li>every other piece is cleaned, spaced and lower-cased by {@link BasicTokenizer};</li>
 *   <li>cut by CLIP's pattern {@link #PATTERN} (letters runs, single digits, punctuation runs, English
 *       contractions); each match's UTF-8 bytes go through GPT-2's byte-to-unicode map and {@link BytePairEncoder};
 *       symbols map to ids through {@code vocab.json} (unknown ones to the unk token);</li>
 *   <li>{@link #encode} adds BOS/EOS, truncates to {@code model_max_length} keeping BOS and EOS, right-pads with the
 *       pad token and builds the attention mask.</li>
 * </ol>
 * Input is untrusted: prompts longer than {@link #MAX_PROMPT_CHARS} characters are refused with an
 * {@link IllegalArgumentException}; unpaired surrogates and control characters are dropped as transformers drops
 * them (Unicode category {@code C*}). Immutable and thread-safe.
 */
public final class ClipTokenizer {
    /** Longest prompt accepted, in UTF-16 chars (about 850 CLIP contexts of English). */
    public static final int MAX_PROMPT_CHARS = 1 << 16;
    /** How far back a full window looks for a comma in {@link #encodeWeighted} (the webui's {@code comma_padding_backtrack}). */
    public static final int COMMA_BACKTRACK = 20;

    /** {@code CLIPTokenizer.pat} (compiled with {@code re.IGNORECASE} in Python's {@code regex} module). */
    static final Pattern PATTERN = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    /** {@code CLIPTokenizer.bpe}'s cache starts with these two, so they come out whole even when spelt in the text. */
    private static final List<String> LITERAL_SPECIALS = List.of("<|startoftext|>", "<|endoftext|>");

    private final ClipTokenizerConfig config;
    private final Map<String, Integer> vocab;
    private final Map<String, Integer> addedIds;
    private final BytePairEncoder bpe;
    private final AddedTokenSplitter splitter;
    private final int bosId, eosId, padId, unkId;

    private ClipTokenizer(ClipTokenizerConfig config, Map<String, Integer> vocab, Map<String, Integer> merges) {
        this.config = config;
        this.vocab = Map.copyOf(vocab);
        this.bpe = new BytePairEncoder(merges);
        // transformers' _add_tokens: added_tokens_decoder first (their own ids), then each special token not yet
        // added, with its vocab id or the next free id
        Map<String, Integer> ids = new HashMap<>();
        List<AddedToken> tokens = new ArrayList<>();
        for (Map.Entry<Integer, AddedToken> e : config.addedTokens().entrySet()) {
            if (ids.putIfAbsent(e.getValue().content(), e.getKey()) == null) tokens.add(e.getValue());
        }
        // new_idx = len(get_vocab()): the vocab and the added tokens, by content
        int nextId = vocab.size();
        for (String content : ids.keySet()) if (!vocab.containsKey(content)) nextId++;
        for (AddedToken t : config.specialTokens()) {
            if (ids.containsKey(t.content())) continue;
            Integer id = vocab.get(t.content());
            ids.put(t.content(), id != null ? id : nextId++);
            tokens.add(t);
        }
        this.addedIds = Map.copyOf(ids);
        this.splitter = new AddedTokenSplitter(tokens, ids);
        this.bosId = addedIds.get(config.bosToken().content());
        this.eosId = addedIds.get(config.eosToken().content());
        this.padId = addedIds.get(config.padToken().content());
        this.unkId = addedIds.get(config.unkToken().content());
    }

    /**
     * Reads a tokenizer folder: {@code vocab.json} and {@code merges.txt} (required), {@code tokenizer_config.json} and
     * {@code special_tokens_map.json} (optional, see {@link ClipTokenizerConfig}).
     *
     * @throws IOException a {@link dev.unet4j.core.checkpoint.ModelException} naming the missing or broken file
     */
    public static ClipTokenizer load(Path dir) throws IOException {
        return load(dir, ClipTokenizerConfig.read(dir));
    }

    /** Reads {@code vocab.json} and {@code merges.txt} of {@code dir} and uses {@code config} for the rest. */
    public static ClipTokenizer load(Path dir, ClipTokenizerConfig config) throws IOException {
        Map<String, Integer> vocab = TokenizerFiles.readVocab(dir.resolve(TokenizerFiles.VOCAB));
        Map<String, Integer> merges = TokenizerFiles.readMerges(dir.resolve(TokenizerFiles.MERGES));
        return new ClipTokenizer(config, vocab, merges);
    }

    public ClipTokenizerConfig config() {
        return config;
    }

    public int modelMaxLength() {
        return config.modelMaxLength();
    }

    public int bosTokenId() {
        return bosId;
    }

    public int eosTokenId() {
        return eosId;
    }

    public int padTokenId() {
        return padId;
    }

    public int unkTokenId() {
        return unkId;
    }

    /** Entries of {@code vocab.json} (49,408 for CLIP). */
    public int vocabSize() {
        return vocab.size();
    }

    /** {@code tokenizer.tokenize(prompt)}: the tokens without BOS/EOS. */
    public List<String> tokenize(String prompt) {
        List<String> tokens = new ArrayList<>();
        tokenize(prompt, tokens, null);
        return tokens;
    }

    /** The ids of {@link #tokenize}, without BOS/EOS, not truncated. */
    public int[] tokenIds(String prompt) {
        IntList ids = new IntList();
        tokenize(prompt, null, ids);
        return ids.toArray();
    }

    /** The prompt padded and truncated to {@link #modelMaxLength()}: what a diffusers pipeline feeds its text encoder. */
    public ClipEncoding encode(String prompt) {
        List<String> tokens = new ArrayList<>();
        IntList body = new IntList();
        tokenize(prompt, tokens, body);
        int max = config.modelMaxLength();
        int[] ids = new int[body.size() + 2];
        ids[0] = bosId;
        System.arraycopy(body.toArray(), 0, ids, 1, body.size());
        ids[ids.length - 1] = eosId;
        boolean truncated = ids.length > max;
        int[] inputIds = new int[max];
        int[] mask = new int[max];
        Arrays.fill(inputIds, padId);
        int kept = Math.min(body.size(), max - 2);
        inputIds[0] = bosId;
        for (int i = 0; i < kept; i++) inputIds[1 + i] = body.get(i);
        inputIds[kept + 1] = eosId;
        Arrays.fill(mask, 0, kept + 2, 1);
        return new ClipEncoding(tokens, ids, inputIds, mask, truncated);
    }

    /**
     * The whole prompt in windows of {@code model_max_length - 2} tokens, each wrapped in BOS/EOS and padded (see
     * {@link ClipChunks}); weights all 1.
     */
    public ClipChunks encodeChunked(String prompt) {
        ChunkBuilder chunks = newChunks();
        for (int token : tokenIds(prompt)) {
            if (chunks.size() == chunks.capacity()) chunks.close();
            chunks.add(token, 1f);
        }
        if (chunks.size() > 0 || chunks.noneClosed()) chunks.close();
        return chunks.result();
    }

    /**
     * The prompt the way AUTOMATIC1111's webui tokenizes it ({@code tokenize_line}, without textual-inversion
     * embeddings): the emphasis pieces of {@link PromptWeights} are tokenized one by one, each token carrying its piece's
     * weight, and packed into windows of {@code model_max_length - 2} tokens; {@code BREAK} closes the current window; a
     * window that fills up within {@link #COMMA_BACKTRACK} tokens after a comma is closed after that comma and the
     * tokens after it move to the next window. Windows are padded with the pad token (weight 1) and wrapped in BOS/EOS.
     */
    public ClipChunks encodeWeighted(String prompt) {
        checkPrompt(prompt);
        Integer comma = vocab.get(",</w>");
        ChunkBuilder chunks = newChunks();
        int lastComma = -1;
        for (PromptWeights.Piece piece : PromptWeights.parse(prompt)) {
            if (piece.isBreak()) {
                chunks.close();
                lastComma = -1;
                continue;
            }
            for (int token : tokenIds(piece.text())) {
                boolean full = chunks.size() == chunks.capacity();
                if (comma != null && token == comma) {
                    lastComma = chunks.size();
                } else if (full && lastComma != -1 && chunks.size() - lastComma <= COMMA_BACKTRACK) {
                    chunks.closeFirst(lastComma + 1);   // the tokens after the comma open the next window
                    lastComma = -1;
                }
                if (chunks.size() == chunks.capacity()) {
                    chunks.close();
                    lastComma = -1;
                }
                chunks.add(token, (float) piece.weight());
            }
        }
        if (chunks.size() > 0 || chunks.noneClosed()) chunks.close();
        return chunks.result();
    }

    private ChunkBuilder newChunks() {
        return new ChunkBuilder(config.modelMaxLength(), bosId, eosId, padId);
    }

    private static void checkPrompt(String prompt) {
        if (prompt == null) throw new IllegalArgumentException("prompt is null");
        if (prompt.length() > MAX_PROMPT_CHARS) {
            throw new IllegalArgumentException("prompt has " + prompt.length() + " characters; at most " + MAX_PROMPT_CHARS
                    + " are accepted (a CLIP context holds 75 tokens)");
        }
    }

    /** Appends the tokens and/or ids of {@code prompt} (either sink may be null). */
    private void tokenize(String prompt, List<String> tokens, IntList ids) {
        checkPrompt(prompt);
        for (AddedTokenSplitter.Piece piece : splitter.split(prompt)) {
            if (piece.id() >= 0) {
                if (tokens != null) tokens.add(piece.text());
                if (ids != null) ids.add(piece.id());
                continue;
            }
            if (piece.text().isEmpty()) continue;
            String text = BasicTokenizer.normalize(piece.text());
            Matcher m = PATTERN.matcher(text);
            while (m.find()) {
                String word = m.group();
                List<String> symbols = LITERAL_SPECIALS.contains(word) ? List.of(word)
                        : bpe.encode(ByteToUnicode.encode(word.getBytes(StandardCharsets.UTF_8)));
                for (String s : symbols) {
                    if (tokens != null) tokens.add(s);
                    if (ids != null) ids.add(idOf(s));
                }
            }
        }
    }

    /** {@code convert_tokens_to_ids}: added tokens, then the vocab, else unk. */
    private int idOf(String token) {
        Integer id = addedIds.get(token);
        if (id == null) id = vocab.get(token);
        return id != null ? id : unkId;
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] a = new int[32];
        private int n;

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int get(int i) {
            return a[i];
        }

        int size() {
            return n;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
