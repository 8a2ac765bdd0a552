// The items the tokenizer library produces, which the built-in nodes pass along (the `item` names
// of their ports): the tokens discovery proposes and the (extended) tokenizer itself. Each kind
// is a name and a description; nodes/_kinds.ts registers it with the framework and its type.

export const TOKEN_LIST_KIND = {
  name: 'token-list',
  description: 'tokens to add, each with where it came from (list, template, mined) and its counts',
  fields: { tokens: "{content, special, origin: 'list' | 'template' | 'mined', form?, word?, count?, pieces?, saved?}[]" },
};
export const TOKENIZER_KIND = {
  name: 'tokenizer',
  description: "a tokenizer's files in memory (tokenizer.json, tokenizer_config.json) with its new tokens' ids",
  fields: {
    tokenizerJson: 'object: parsed tokenizer.json',
    tokenizerConfig: 'object: parsed tokenizer_config.json',
    hash: 'string: sha256 of both (cache key)',
    baseVocabSize: 'number: ids before extension',
    newTokens: 'string[]',
    newTokenIds: 'number[]: in the order of newTokens',
  },
};

/** One token to add, from discovery. */
export interface TokenCandidate {
  content: string;
  special: boolean;
  /** Where it came from: 'list' | 'template' | 'mined'. */
  origin: 'list' | 'template' | 'mined';
  /**
   * Mined surface forms: `content` is the text of one pre-token exactly as it occurs (' zintrapolate'
   * after a space, 'Zintrapolate' at a line start), and extension adds that form and no other.
   * Without it a normal token is a word that merge mode enters with a leading space.
   */
  form?: boolean;
  /** The word a mined form belongs to (lowercase, no leading space); reports group forms under it. */
  word?: string;
  /** Corpus occurrences (mined tokens), pieces under the base tokenizer and count*(pieces-1). */
  count?: number;
  pieces?: number;
  saved?: number;
}

/** item: 'token-list' (value edge). */
export interface TokenList {
  tokens: TokenCandidate[];
}

/** item: 'tokenizer' (value edge) — the (possibly extended) tokenizer as files in memory. */
export interface TokenizerArtifact {
  /** Parsed tokenizer.json. */
  tokenizerJson: Record<string, unknown>;
  /** Parsed tokenizer_config.json (may be {}). */
  tokenizerConfig: Record<string, unknown>;
  /** sha256 hex of the canonical JSON of both files: the packer cache key uses it. */
  hash: string;
  /** Vocabulary size of the base tokenizer (model vocab + added tokens) before extension. */
  baseVocabSize: number;
  /** Ids given to the new tokens, in the order of `newTokens`. */
  newTokenIds: number[];
  newTokens: string[];
  /**
   * Merge mode: the new ids that only build a word (Ġace, Ġacet, … for Ġacetaminophen). They stay
   * in the adapter (every logit needs its row) but reports count them apart from the words.
   */
  intermediateIds?: number[];
}
