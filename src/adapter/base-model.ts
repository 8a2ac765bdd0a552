// base_model_name_or_path: what an adapter folder names its base model with, and finding that
// model again. PEFT and transformers read the field as a hub repo id or a path, so an absolute
// path of the training machine (/home/me/models/x) only works there; a repo id works anywhere,
// and a path relative to the adapter folder survives moving the run folder with its model.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';

/** A hub repo id: `name` or `owner/name`, no path syntax. */
const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;
/** A folder of the Hugging Face cache: .../models--owner--name/snapshots/<commit>. */
const HF_CACHE = /(?:^|[\\/])models--([^\\/]+?)--([^\\/]+)[\\/]snapshots[\\/][^\\/]+[\\/]?$/;

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/**
 * The portable name for the model at `model` (a folder or already a repo id), seen from an
 * adapter written to `adapterDir`: the config's `_name_or_path` when it is a repo id, the repo
 * of a hub-cache folder, else the model folder relative to the adapter folder (with `/`).
 */
export function portableBaseModel(model: string, adapterDir: string): string {
  const abs = path.resolve(model);
  if (!isDir(abs)) return model;
  const name = configName(abs);
  if (name) return name;
  const cache = HF_CACHE.exec(abs);
  if (cache) return `${cache[1]}/${cache[2]}`;
  return path.relative(path.resolve(adapterDir), abs).split(path.sep).join('/') || '.';
}

function configName(dir: string): string | undefined {
  try {
    const n = (JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { _name_or_path?: unknown })._name_or_path;
    // transformers also writes the local folder it loaded from here; only a repo id is portable.
    return typeof n === 'string' && REPO_ID.test(n) && !isDir(path.resolve(dir, n)) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The base model folder named by an adapter's base_model_name_or_path: a path relative to the
 * adapter folder (what tokenpipe writes) or absolute. A repo id cannot be fetched here.
 */
export function resolveBaseModel(adapterDir: string, nameOrPath: unknown): string {
  const where = `${path.join(adapterDir, 'adapter_config.json')}: base_model_name_or_path`;
  if (typeof nameOrPath !== 'string' || nameOrPath === '') throw new UsageError(`${where} is missing; pass --model DIR`);
  const dir = path.resolve(adapterDir, nameOrPath);
  if (isDir(dir)) return dir;
  throw new UsageError(`${where} is ${JSON.stringify(nameOrPath)}, not a folder relative to the adapter (tokenpipe does not download models); pass --model DIR`);
}

/** The base model folder of the adapter folder `adapterDir`, from its adapter_config.json. */
export function baseModelOfAdapter(adapterDir: string): string {
  const file = path.join(adapterDir, 'adapter_config.json');
  let cfg: { base_model_name_or_path?: unknown };
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--adapter ${adapterDir}: cannot read ${file}: ${(e as Error).message}`);
  }
  return resolveBaseModel(adapterDir, cfg.base_model_name_or_path);
}
