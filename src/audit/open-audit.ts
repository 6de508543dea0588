// Builds the audit trail from `[audit]`: the file always, plus syslog and a
// webhook when configured.
import type { Logger } from 'pino';
import type { Config } from '../../common/config-types.js';
import { AuditLog, type AuditSink } from './audit-log.js';
import { RequestOrderedAudit } from './request-order.js';
import { SyslogSink } from './syslog.js';
import { WebhookSink } from './webhook.js';

export function openAudit(cfg: Config['audit'], log: Logger): RequestOrderedAudit | null {
  if (!cfg.enabled) return null;
  const sinks: AuditSink[] = [];
  if (cfg.syslog) sinks.push(new SyslogSink(log));
  if (cfg.webhook) sinks.push(new WebhookSink(cfg.webhook, log));
  return new RequestOrderedAudit(new AuditLog(cfg.file, log, sinks));
}
