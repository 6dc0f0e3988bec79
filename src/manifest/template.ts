/**
 * The whole-manifest template, as a VS Code snippet: New Job Manifest inserts it into a new
 * `manifest.toml`, and completion offers it in a manifest that has no key yet. One template, so
 * the two never drift apart. `TM_DIRECTORY` is the manifest's folder: its name is the natural job name.
 */
const FOLDER_NAME = '${TM_DIRECTORY/^.*[\\/\\\\]//}';

export const MANIFEST_TEMPLATE_NAME = 'Serval job manifest';

export const MANIFEST_TEMPLATE = [
  `name = "\${1:${FOLDER_NAME}}"`,
  'namespace = "${2|com.example,sh.serval,org.example|}"',
  'version = "${3|0.1.0,1.0.0,0.0.1|}"',
  `binary = "\${4:${FOLDER_NAME}.wasm}"`,
  'description = "${5:What this job does with its input.}"',
  'required_extensions = [$6]',
  'required_permissions = [$7]',
  '$0',
].join('\n');
