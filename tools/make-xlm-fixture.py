"""Make test/fixtures/xlm/mlm_ende_tiny.pth: a tiny MLM checkpoint shaped like Facebook's XLM releases
(mlm_ende_1024.pth & co.), made with XLM's own code.

  .venv/bin/python tools/make-xlm-fixture.py XLM_DIR [--out test/fixtures/xlm] [--golden test/golden/fast-bpe]
                                           [--steps 40] [--seed 0]

XLM_DIR is a checkout of github.com/facebookresearch/XLM (e.g. `git -C MIRROR archive HEAD | tar -x -C DIR`).
Nothing in it is patched. What this script does, in train.py's order:
  * params: XLM's own train.get_parser() parses a real-looking command line (MLM on de,en; emb_dim 64, 2 layers,
    4 heads, GELU, learnt positions, dropout 0.1), then XLM's check_data_params, check_model_params,
    init_distributed_mode, initialize_exp and set_dico_parameters fill in the rest, so every key a release's
    `params` has is there (paths relative to a temporary working folder: ./dumped, ./data/ende);
  * the dictionary: XLM's Dictionary.read_vocab(golden/vocab) (fastBPE getvocab learnt on the demo corpus, see
    tools/make-bpe-golden.sh); the data: golden/{de,en}.bpe binarised with XLM's Dictionary.index_data (what
    preprocess.py does), as train/valid/test.{de,en}.pth, which check_data_params requires to exist;
  * Trainer.__init__'s two additions to params are copied here: pred_probs (a FloatTensor) and mask_scores (a
    numpy array); a release's params hold both (HF's convert_xlm_original_pytorch_checkpoint_to_pytorch.py
    filters exactly these types out);
  * the model: xlm.model.transformer.TransformerModel(params, dico, is_encoder=True, with_output=True), after
    torch.manual_seed(seed); then --steps MLM steps (Trainer.mask_out's rule: word_pred 15%, 80/10/10
    mask/keep/random; batches of 32 sentences of one language, </s> at both ends, langs set) with torch.optim.Adam
    (lr 1e-3), so weights are not pure init;
  * saves {model, params (a plain dict, as Trainer.save_checkpoint), dico_id2word, dico_word2id, dico_counts}:
    the keys of a released MLM checkpoint, with no optimizer or epoch state; copies golden codes and vocab.

Shims (not patches of XLM's files), because this runs on CPU with modern torch and without apex:
  * `apex` is an empty stand-in module, so that train.py -> xlm/trainer.py's `import apex` succeeds (nothing of
    apex is called: the trainer classes are not instantiated);
  * torch.cuda.set_device is a no-op while init_distributed_mode runs (it calls set_device(0); CPU-only torch);
  * build_model (it ends in .cuda()), Trainer (CUDA, apex) and xlm/optim.py's Adam are not used; masks are bool
    (modern torch refuses masked_scatter with Trainer.mask_out's uint8 masks).
"""
import argparse
import os
import random
import shutil
import sys
import tempfile
import types

import numpy as np
import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def real_command(n_steps):
    """The command line a real run would have had (XLM README's MLM example, made tiny)."""
    return ["train.py", "--exp_name", "mlm_ende_tiny", "--exp_id", "tiny", "--dump_path", "./dumped/",
            "--data_path", "./data/ende/", "--lgs", "de-en", "--clm_steps", "", "--mlm_steps", "de,en",
            "--emb_dim", "64", "--n_layers", "2", "--n_heads", "4", "--dropout", "0.1", "--attention_dropout", "0.1",
            "--gelu_activation", "true", "--batch_size", "32", "--bptt", "256",
            "--optimizer", "adam,lr=0.001", "--epoch_size", str(32 * n_steps), "--max_epoch", "1",
            "--validation_metrics", "_valid_mlm_ppl", "--stopping_criterion", "_valid_mlm_ppl,10"]


def import_xlm(xlm_dir):
    sys.path.insert(0, os.path.abspath(xlm_dir))
    sys.modules.setdefault("apex", types.ModuleType("apex"))  # shim: see the docstring
    import train  # noqa: E402  (XLM's train.py: get_parser)
    from xlm.data import loader
    from xlm.data.dictionary import Dictionary
    from xlm.model import check_model_params
    from xlm.model.transformer import TransformerModel
    from xlm import slurm, utils
    return types.SimpleNamespace(train=train, loader=loader, Dictionary=Dictionary, slurm=slurm, utils=utils,
                                 check_model_params=check_model_params, TransformerModel=TransformerModel)


def make_params(x, golden, n_steps):
    sys.argv = real_command(n_steps)
    params = x.train.get_parser().parse_args(sys.argv[1:])
    dico = x.Dictionary.read_vocab(os.path.join(golden, "vocab"))
    os.makedirs(params.data_path)
    sentences = {}
    for lang in ("de", "en"):
        text = os.path.join(golden, f"{lang}.bpe")
        for split in ("train", "valid", "test"):  # the same lines: check_data_params wants all three
            data = x.Dictionary.index_data(text, os.path.join(params.data_path, f"{split}.{lang}.pth"), dico)
        pos = data["positions"]
        sentences[lang] = [data["sentences"][a:b].astype(np.int64) for a, b in pos]
    x.train.check_data_params(params)
    x.check_model_params(params)
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda *_: None  # shim: see the docstring
    try:
        x.slurm.init_distributed_mode(params)
    finally:
        torch.cuda.set_device = set_device
    x.utils.initialize_exp(params)
    x.loader.set_dico_parameters(params, {"dico": dico}, dico)
    # Trainer.__init__ (xlm/trainer.py), verbatim:
    params.pred_probs = torch.FloatTensor([params.word_mask, params.word_keep, params.word_rand])
    counts = np.array(list(dico.counts.values()))
    params.mask_scores = np.maximum(counts, 1) ** -params.sample_alpha
    params.mask_scores[params.pad_index] = 0  # do not predict <PAD> index
    params.mask_scores[counts == 0] = 0  # do not predict special tokens
    return params, dico, sentences


def batch(sents, params):
    """XLM's batch_sentences: (slen, bs) ids with </s> at both ends, padded."""
    lengths = torch.LongTensor([len(s) + 2 for s in sents])
    x = torch.full((int(lengths.max()), len(sents)), params.pad_index, dtype=torch.long)
    x[0] = params.eos_index
    for i, s in enumerate(sents):
        x[1:lengths[i] - 1, i] = torch.from_numpy(s)
        x[lengths[i] - 1, i] = params.eos_index
    return x, lengths


def mask_out(x, params):
    """Trainer.mask_out for sample_alpha == 0, with bool masks."""
    pred_mask = torch.from_numpy(np.random.rand(*x.shape) <= params.word_pred)
    pred_mask[x == params.pad_index] = False
    pred_mask[0] = False
    real = x[pred_mask]
    rand = real.clone().random_(params.n_words)
    probs = torch.multinomial(params.pred_probs, len(real), replacement=True)
    new = torch.full_like(real, params.mask_index) * (probs == 0) + real * (probs == 1) + rand * (probs == 2)
    return x.masked_scatter(pred_mask, new), real, pred_mask


def train_mlm(model, params, sentences, n_steps):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    langs = sorted(sentences)
    losses = []
    for step in range(n_steps):
        lang = langs[step % len(langs)]
        pick = np.random.randint(0, len(sentences[lang]), size=params.batch_size)
        x, lengths = batch([sentences[lang][i][:params.bptt - 2] for i in pick], params)
        x, y, pred_mask = mask_out(x, params)
        lang_ids = torch.full_like(x, params.lang2id[lang])
        tensor = model("fwd", x=x, lengths=lengths, langs=lang_ids, causal=False)
        _, loss = model("predict", tensor=tensor, pred_mask=pred_mask, y=y, get_scores=False)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses


def main(argv=None):
    p = argparse.ArgumentParser(description="tiny XLM MLM checkpoint made with XLM's code (see the docstring)")
    p.add_argument("xlm_dir")
    p.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "xlm"))
    p.add_argument("--golden", default=os.path.join(ROOT, "test", "golden", "fast-bpe"))
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out, golden = os.path.abspath(args.out), os.path.abspath(args.golden)
    torch.set_num_threads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    x = import_xlm(args.xlm_dir)
    cwd = os.getcwd()
    work = tempfile.mkdtemp()
    try:
        os.chdir(work)
        params, dico, sentences = make_params(x, golden, args.steps)
        torch.manual_seed(args.seed)
        model = x.TransformerModel(params, dico, is_encoder=True, with_output=True)
        losses = train_mlm(model, params, sentences, args.steps) if args.steps > 0 else []
    finally:
        os.chdir(cwd)
        shutil.rmtree(work)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "mlm_ende_tiny.pth")
    torch.save({"model": model.state_dict(), "params": {k: v for k, v in params.__dict__.items()},
                "dico_id2word": dico.id2word, "dico_word2id": dico.word2id, "dico_counts": dico.counts}, path)
    for name in ("codes", "vocab"):
        shutil.copyfile(os.path.join(golden, name), os.path.join(out, name))
    if losses:
        print(f"MLM loss: first step {losses[0]:.3f}, last 5 steps {np.mean(losses[-5:]):.3f}")
    print(f"wrote {path} ({os.path.getsize(path)} bytes), {len(dico)} words, {len(params.__dict__)} params")


if __name__ == "__main__":
    sys.exit(main())
