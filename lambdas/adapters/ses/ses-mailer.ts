/** Emails through SES (API v2) from the configured sender; aws-ses-v2-local speaks the same API locally. */
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { EmailMessage, Mailer } from '../../ports';

export class SesMailer implements Mailer {
  constructor(private readonly options: { client: SESv2Client; sender: string }) {}

  async send(message: EmailMessage): Promise<void> {
    await this.options.client.send(
      new SendEmailCommand({
        FromEmailAddress: this.options.sender,
        Destination: { ToAddresses: message.to },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: 'UTF-8' },
            Body: { Text: { Data: message.text, Charset: 'UTF-8' }, Html: { Data: message.html, Charset: 'UTF-8' } },
          },
        },
      }),
    );
  }
}
